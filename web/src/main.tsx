import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { BrowserRouter, Route, Routes } from "react-router-dom";
import { ApiError } from "./api/client";
import { JobsProvider } from "./components/Jobs";
import { Layout } from "./components/Layout";
import { Empty } from "./components/States";
import { Browser } from "./pages/Browser";
import { Home } from "./pages/Home";
import { Labeling } from "./pages/Labeling";
import { Overview } from "./pages/Overview";
import { Settings } from "./pages/Settings";
import { Heuristics } from "./pages/Heuristics";
import { Lookup } from "./pages/Lookup";
import { RecordIde } from "./pages/RecordIde";
import "./styles.css";

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
              <Route path="*" element={<NotFound />} />
            </Route>
          </Routes>
        </JobsProvider>
      </BrowserRouter>
    </QueryClientProvider>
  </StrictMode>,
);
