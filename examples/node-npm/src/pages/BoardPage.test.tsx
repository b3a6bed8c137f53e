import { render, screen, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { MemoryRouter } from "react-router";
import { beforeEach, describe, expect, it } from "vitest";
import { initialTasks, useTasks } from "../store/tasks.ts";
import BoardPage from "./BoardPage.tsx";

function renderBoard() {
  return render(
    <MemoryRouter>
      <BoardPage />
    </MemoryRouter>,
  );
}

describe("BoardPage", () => {
  beforeEach(() => {
    useTasks.setState({ tasks: initialTasks, filter: "all" });
  });

  it("lists the tasks by due date", () => {
    renderBoard();
    const items = within(screen.getByRole("list")).getAllByRole("link");
    expect(items.map((a) => a.textContent)).toEqual(initialTasks.map((t) => t.title));
  });

  it("adds a task and filters open ones", async () => {
    const user = userEvent.setup();
    renderBoard();
    await user.type(screen.getByLabelText("Task"), "Tag the release");
    await user.type(screen.getByLabelText("Owner"), "Dee");
    await user.click(screen.getByRole("button", { name: "Add" }));
    expect(screen.getByRole("link", { name: "Tag the release" })).toBeInTheDocument();

    await user.click(screen.getByRole("tab", { name: "open" }));
    expect(screen.queryByRole("link", { name: "Freeze the release branch" })).not.toBeInTheDocument();
    expect(screen.getByRole("link", { name: "Tag the release" })).toBeInTheDocument();
  });

  it("marks a task done", async () => {
    const user = userEvent.setup();
    renderBoard();
    const item = screen.getByRole("link", { name: "Write the changelog" }).closest("li");
    expect(item).not.toBeNull();
    await user.click(within(item as HTMLElement).getByRole("checkbox"));
    expect(useTasks.getState().tasks.find((t) => t.title === "Write the changelog")?.done).toBe(true);
  });
});
