// Labeling: built in the following steps.
import { useParams } from "react-router-dom";
import { useProject } from "../api/queries";
import { Empty, QueryView } from "../components/States";

export function Labeling() {
  const { project = "" } = useParams();
  const found = useProject(project);
  return (
    <QueryView query={found} what="Loading the project">
      {(data) => <Empty title={`Labeling of ${data.name}`} why="This page is being built." />}
    </QueryView>
  );
}
