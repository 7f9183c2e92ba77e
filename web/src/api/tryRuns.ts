// Try-runs ("Run on 10", "Test on 10", the record IDE's Run) that the user can cancel: each
// run is sent with a cancel key of its own; Cancel posts that key, and the run then answers
// at once with the error "cancelled: ...".
import { useRef } from "react";
import { api } from "./client";

export function useCancelKey(): { next: () => string; cancel: () => void } {
  const key = useRef<string | null>(null);
  return {
    next: () => {
      key.current = `${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`;
      return key.current;
    },
    cancel: () => {
      if (key.current)
        void api.POST("/api/try-runs/{cancel_key}/cancel", {
          params: { path: { cancel_key: key.current } },
        });
    },
  };
}
