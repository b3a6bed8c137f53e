import { NavLink, Outlet } from "react-router";
import { progress, useTasks } from "../store/tasks.ts";
import ProgressBar from "./ProgressBar.tsx";

export default function Layout() {
  const tasks = useTasks((s) => s.tasks);
  return (
    <div className="app">
      <header className="app-header">
        <NavLink to="/" className="brand">
          Release checklist
        </NavLink>
        <ProgressBar percent={progress(tasks)} />
      </header>
      <main>
        <Outlet />
      </main>
    </div>
  );
}
