// Home: the projects, a new project from an upload (previewed first), the sample projects.
import { useState } from "react";
import { Link, useNavigate } from "react-router-dom";
import type { ProjectSummary } from "../api/client";
import { useCreateSample, useDeleteProject, useProjects } from "../api/projects";
import { Confirm } from "../components/Confirm";
import { Empty, InlineError, QueryView } from "../components/States";
import { UploadDialog } from "../components/Upload";
import { formatNumber, formatTime } from "../format";
import { projectPath } from "../routes";

export function Home() {
  const projects = useProjects();
  const [uploading, setUploading] = useState(false);
  return (
    <div className="home">
      <div className="page-head">
        <h1>Projects</h1>
        <button type="button" className="primary" onClick={() => setUploading(true)}>
          New project from a file
        </button>
      </div>
      <QueryView query={projects} what="Loading projects">
        {(list) =>
          list.length === 0 ? (
            <Empty
              title="No projects yet"
              why="A project holds the records you label. Upload a file (CSV, TSV, JSON, JSONL, Parquet or Excel) or start with the clickbait sample below."
            >
              <button type="button" onClick={() => setUploading(true)}>
                Upload a file
              </button>
            </Empty>
          ) : (
            <ProjectTable projects={list} />
          )
        }
      </QueryView>
      <Samples />
      {uploading && <UploadDialog onClose={() => setUploading(false)} />}
    </div>
  );
}

function ProjectTable({ projects }: { projects: ProjectSummary[] }) {
  const [deleting, setDeleting] = useState<string | null>(null);
  const remove = useDeleteProject(() => setDeleting(null));
  return (
    <>
      <table className="table projects" data-testid="projects">
        <thead>
          <tr>
            <th>Name</th>
            <th className="num">Records</th>
            <th className="num">Tasks</th>
            <th>Last change</th>
            <th aria-label="Actions" />
          </tr>
        </thead>
        <tbody>
          {projects.map((project) => (
            <tr key={project.id}>
              <td>
                <Link to={projectPath(project.name)}>{project.name}</Link>
                {project.description && <div className="muted">{project.description}</div>}
              </td>
              <td className="num">{formatNumber(project.records)}</td>
              <td className="num">{project.tasks}</td>
              <td>{formatTime(project.updated_at)}</td>
              <td>
                <button
                  type="button"
                  className="link danger"
                  onClick={() => setDeleting(project.name)}
                >
                  Delete
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {deleting && (
        <Confirm
          title="Delete project"
          message={
            <>
              Delete <strong>{deleting}</strong> with all its records, labels and slices? This
              cannot be undone.
            </>
          }
          busy={remove.isPending}
          onConfirm={() => remove.mutate(deleting)}
          onClose={() => setDeleting(null)}
        />
      )}
      <InlineError error={remove.error} />
    </>
  );
}

function Samples() {
  const navigate = useNavigate();
  const create = useCreateSample((project) => navigate(projectPath(project.name)));
  return (
    <section className="samples">
      <h2>Sample projects</h2>
      <p className="muted">
        Clickbait: 1,400 news headlines, with a classification task (clickbait or not) and an
        extraction task (clickbait expressions, country names).
      </p>
      <div className="sample-buttons">
        <button type="button" disabled={create.isPending} onClick={() => create.mutate("initial")}>
          Clickbait — initial
        </button>
        <button
          type="button"
          disabled={create.isPending}
          onClick={() => create.mutate("finished")}
        >
          Clickbait — finished (labeled)
        </button>
      </div>
      <InlineError error={create.error} />
    </section>
  );
}
