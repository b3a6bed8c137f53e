import { render, screen } from "@testing-library/react";
import { MemoryRouter } from "react-router";
import { describe, expect, it } from "vitest";
import App from "./App.tsx";

function renderAt(path: string) {
  return render(
    <MemoryRouter initialEntries={[path]}>
      <App />
    </MemoryRouter>,
  );
}

describe("App routes", () => {
  it("shows the board with its progress", () => {
    renderAt("/");
    expect(screen.getByRole("heading", { name: "Before we ship" })).toBeInTheDocument();
    expect(screen.getByRole("progressbar")).toHaveAttribute("aria-valuenow", "25");
  });

  it("shows one task", () => {
    renderAt("/tasks/t3");
    expect(screen.getByRole("heading", { name: "Write the changelog" })).toBeInTheDocument();
    expect(screen.getByText("Chen")).toBeInTheDocument();
  });

  it("says when a page does not exist", () => {
    renderAt("/nope");
    expect(screen.getByRole("heading", { name: "Page not found" })).toBeInTheDocument();
  });
});
