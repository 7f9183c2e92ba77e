// The frame of every page: the top bar (home, the project's pages, the annotator) and the page.
import { NavLink, Outlet, useParams } from "react-router-dom";
import { useAnnotator } from "../annotator";
import { projectPath } from "../routes";

export function Layout() {
  const { project } = useParams();
  const [annotator, setAnnotator] = useAnnotator();
  return (
    <div className="app">
      <header className="topbar">
        <NavLink to="/" className="brand" end>
          <img src="/favicon.svg" alt="" width={22} height={22} /> assay
        </NavLink>
        {project && (
          <nav className="project-nav" aria-label="Project">
            <span className="project-name" title={project}>
              {project}
            </span>
            <NavLink to={projectPath(project)} end>
              Overview
            </NavLink>
            <NavLink to={projectPath(project, "browser")}>Data browser</NavLink>
            <NavLink to={projectPath(project, "labeling")}>Labeling</NavLink>
            <NavLink to={projectPath(project, "heuristics")}>Heuristics</NavLink>
            <NavLink to={projectPath(project, "lookup")}>Lookup lists</NavLink>
            <NavLink to={projectPath(project, "models")}>Models</NavLink>
            <NavLink to={projectPath(project, "review")}>Review</NavLink>
            <NavLink to={projectPath(project, "curate")}>Curate</NavLink>
            <NavLink to={projectPath(project, "settings")}>Settings</NavLink>
          </nav>
        )}
        <label className="annotator">
          Annotator
          <input
            value={annotator}
            placeholder="your name"
            aria-label="Annotator name"
            onChange={(event) => setAnnotator(event.target.value)}
          />
        </label>
      </header>
      <main className="page">
        <Outlet />
      </main>
    </div>
  );
}
