// The API's closed value sets (the server's Literal types), as the generated schema exports
// them: a list the UI offers comes from here, never from a copy that can fall behind.
export {
  annotationPublicSourceValues as ANNOTATION_SOURCES,
  attributeConditionOpValues as FILTER_OPERATORS,
  attributePublicData_typeValues as DATA_TYPES,
  embeddingPublicLevelValues as EMBEDDING_LEVELS,
  heuristicPublicKindValues as HEURISTIC_KINDS,
  taskPublicTypeValues as TASK_TYPES,
} from "./schema";
