import { Link, useParams } from "react-router";
import { describeDue, longDate } from "../lib/dates.ts";
import { useTasks } from "../store/tasks.ts";

export default function TaskPage() {
  const { id } = useParams();
  const task = useTasks((s) => s.tasks.find((t) => t.id === id));
  const toggle = useTasks((s) => s.toggle);
  if (!task) {
    return (
      <section>
        <h1>No such task</h1>
        <Link to="/">Back to the board</Link>
      </section>
    );
  }
  return (
    <section className="task-page">
      <h1>{task.title}</h1>
      <dl>
        <dt>Owner</dt>
        <dd>{task.owner}</dd>
        <dt>Due</dt>
        <dd>
          {longDate(task.due)} ({describeDue(task.due, new Date()).label})
        </dd>
        <dt>Status</dt>
        <dd>{task.done ? "done" : "open"}</dd>
      </dl>
      <button type="button" onClick={() => toggle(task.id)}>
        {task.done ? "Reopen" : "Mark done"}
      </button>{" "}
      <Link to="/">Back to the board</Link>
    </section>
  );
}
