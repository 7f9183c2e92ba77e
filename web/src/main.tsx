import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { lazy, StrictMode, Suspense, type ComponentType } from "react";
import { createRoot } from "react-dom/client";
import { BrowserRouter, Route, Routes } from "react-router-dom";
import { ApiError } from "./api/client";
import { JobsProvider } from "./components/Jobs";
import { Layout } from "./components/Layout";
import { Empty, Loading } from "./components/States";
import { Home } from "./pages/Home";
import "./styles.css";

/** A page in a chunk of its own, loaded when first opened: the main bundle stays small. */
function page<K extends string>(
  load: () => Promise<Record<K, ComponentType>>,
  name: K,
): ComponentType {
  const Page = lazy(async (): Promise<{ default: ComponentType }> => ({
    default: (await load())[name],
  }));
  return function LazyPage() {
    return (
      <Suspense fallback={<Loading what="Loading the page" />}>
        <Page />
      </Suspense>
    );
  };
}

const Overview = page(() => import("./pages/Overview"), "Overview");
const Browser = page(() => import("./pages/Browser"), "Browser");
const Labeling = page(() => import("./pages/Labeling"), "Labeling");
const Heuristics = page(() => import("./pages/Heuristics"), "Heuristics");
const Lookup = page(() => import("./pages/Lookup"), "Lookup");
const Settings = page(() => import("./pages/Settings"), "Settings");
const RecordIde = page(() => import("./pages/RecordIde"), "RecordIde");
const Models = page(() => import("./pages/Models"), "Models");
const Review = page(() => import("./pages/Review"), "Review");
const Curate = page(() => import("./pages/Curate"), "Curate");

const queryClient = new QueryClient({
  defaultOptions: {
    queries: {
      staleTime: 5_000,
      // A 4xx answer will not change by asking again.
      retry: (count, error) => !(error instanceof ApiError && error.status < 500) && count < 2,
    },
  },
});

function NotFound() {
  return (
    <Empty title="No such page" why="The address does not name a page of assay.">
      <a href="/">Go to the projects</a>
    </Empty>
  );
}

createRoot(document.getElementById("root")!).render(
  <StrictMode>
    <QueryClientProvider client={queryClient}>
      <BrowserRouter>
        <JobsProvider>
          <Routes>
            <Route element={<Layout />}>
              <Route index element={<Home />} />
              <Route path="projects/:project" element={<Overview />} />
              <Route path="projects/:project/browser" element={<Browser />} />
              <Route path="projects/:project/labeling" element={<Labeling />} />
              <Route path="projects/:project/heuristics" element={<Heuristics />} />
              <Route path="projects/:project/lookup" element={<Lookup />} />
              <Route path="projects/:project/settings" element={<Settings />} />
              <Route path="projects/:project/ide" element={<RecordIde />} />
              <Route path="projects/:project/models" element={<Models />} />
              <Route path="projects/:project/review" element={<Review />} />
              <Route path="projects/:project/curate" element={<Curate />} />
              <Route path="*" element={<NotFound />} />
            </Route>
          </Routes>
        </JobsProvider>
      </BrowserRouter>
    </QueryClientProvider>
  </StrictMode>,
);
