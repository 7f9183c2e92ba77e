// The labeling task a page shows: the choice of one, and the empty state of a project that has
// none yet (the overview and the heuristics page work per task).
import { Link } from "react-router-dom";
import type { Project, Task } from "../api/client";
import { projectPath } from "../routes";
import { Empty } from "./States";

export function TaskSelect({
  tasks,
  value,
  onChange,
}: {
  tasks: Task[];
  value: string;
  onChange: (task: string) => void;
}) {
  return (
    <select value={value} onChange={(event) => onChange(event.target.value)} aria-label="Task">
      {tasks.map((t) => (
        <option key={t.id} value={t.name}>
          {t.name} ({t.type})
        </option>
      ))}
    </select>
  );
}

/** A project without labeling tasks: why the page needs one, and where to add it. */
export function NoTasks({ project, why }: { project: Project; why: string }) {
  return (
    <Empty title="No labeling tasks yet" why={why}>
      <Link to={projectPath(project.name, "settings")}>Add a task in Settings</Link>
    </Empty>
  );
}
