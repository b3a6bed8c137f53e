import type { Task } from "../store/tasks.ts";
import TaskItem from "./TaskItem.tsx";

type Props = {
  tasks: Task[];
  today: Date;
  onToggle: (id: string) => void;
  onRemove: (id: string) => void;
};

export default function TaskList({ tasks, today, onToggle, onRemove }: Props) {
  if (tasks.length === 0) {
    return <p className="empty">Nothing here.</p>;
  }
  return (
    <ul className="tasks">
      {tasks.map((t) => (
        <TaskItem key={t.id} task={t} today={today} onToggle={onToggle} onRemove={onRemove} />
      ))}
    </ul>
  );
}
