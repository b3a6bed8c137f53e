import { useState, type FormEvent } from "react";

type Props = {
  onAdd: (title: string, owner: string, due: string) => void;
  defaultDue: string;
};

export default function AddTaskForm({ onAdd, defaultDue }: Props) {
  const [title, setTitle] = useState("");
  const [owner, setOwner] = useState("");
  const [due, setDue] = useState(defaultDue);

  function submit(e: FormEvent) {
    e.preventDefault();
    if (!title.trim()) return;
    onAdd(title.trim(), owner.trim() || "unassigned", due);
    setTitle("");
    setOwner("");
  }

  return (
    <form className="add-task" onSubmit={submit}>
      <input
        aria-label="Task"
        placeholder="What needs doing?"
        value={title}
        onChange={(e) => setTitle(e.target.value)}
      />
      <input aria-label="Owner" placeholder="Owner" value={owner} onChange={(e) => setOwner(e.target.value)} />
      <input aria-label="Due" type="date" value={due} onChange={(e) => setDue(e.target.value)} />
      <button type="submit">Add</button>
    </form>
  );
}
