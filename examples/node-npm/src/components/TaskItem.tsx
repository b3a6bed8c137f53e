import { Link } from "react-router";
import { describeDue } from "../lib/dates.ts";
import type { Task } from "../store/tasks.ts";

type Props = {
  task: Task;
  today: Date;
  onToggle: (id: string) => void;
  onRemove: (id: string) => void;
};

export default function TaskItem({ task, today, onToggle, onRemove }: Props) {
  const due = describeDue(task.due, today);
  return (
    <li className={task.done ? "task done" : "task"}>
      <label>
        <input type="checkbox" checked={task.done} onChange={() => onToggle(task.id)} />
        <Link to={`/tasks/${task.id}`}>{task.title}</Link>
      </label>
      <span className="owner">{task.owner}</span>
      <span className={`due due-${task.done ? "later" : due.tone}`}>{due.label}</span>
      <button type="button" className="remove" aria-label={`Remove ${task.title}`} onClick={() => onRemove(task.id)}>
        ×
      </button>
    </li>
  );
}
