from assay.algorithms.reference import AGREED, CONFLICT, GOLD, ManualVote, resolve_reference


def test_nobody_labeled() -> None:
    ref = resolve_reference([])
    assert ref.state is None
    assert ref.value == frozenset()


def test_single_annotator_counts_as_agreement() -> None:
    ref = resolve_reference([ManualVote("ann", False, 1)])
    assert (ref.state, ref.value, ref.annotator) == (AGREED, frozenset({1}), "ann")


def test_agreement_of_two_annotators() -> None:
    ref = resolve_reference([ManualVote("b", False, 2), ManualVote("a", False, 2)])
    assert (ref.state, ref.value, ref.annotator) == (AGREED, frozenset({2}), "a")


def test_disagreement_is_a_conflict() -> None:
    ref = resolve_reference([ManualVote("a", False, 1), ManualVote("b", False, 2)])
    assert ref.state == CONFLICT
    assert ref.value == frozenset()


def test_gold_wins_over_a_conflict() -> None:
    votes = [ManualVote("a", False, 1), ManualVote("b", False, 2), ManualVote("c", True, 2)]
    ref = resolve_reference(votes)
    assert (ref.state, ref.value) == (GOLD, frozenset({2}))


def test_multi_label_compares_whole_sets() -> None:
    same = [ManualVote("a", False, 1), ManualVote("a", False, 2)]
    same += [ManualVote("b", False, 2), ManualVote("b", False, 1)]
    assert resolve_reference(same).value == frozenset({1, 2})
    subset = [ManualVote("a", False, 1), ManualVote("a", False, 2), ManualVote("b", False, 1)]
    assert resolve_reference(subset).state == CONFLICT


def test_spans_compare_exact_token_bounds() -> None:
    votes = [ManualVote("a", False, (1, 0, 2)), ManualVote("b", False, (1, 0, 3))]
    assert resolve_reference(votes).state == CONFLICT
    votes = [ManualVote("a", False, (1, 0, 2)), ManualVote("b", False, (1, 0, 2))]
    assert resolve_reference(votes).value == frozenset({(1, 0, 2)})
