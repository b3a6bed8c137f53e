import { create } from "zustand";

export type Task = {
  id: string;
  title: string;
  owner: string;
  due: string; // ISO date, yyyy-MM-dd
  done: boolean;
};

export type Filter = "all" | "open" | "done";

type TaskState = {
  tasks: Task[];
  filter: Filter;
  add: (title: string, owner: string, due: string) => void;
  toggle: (id: string) => void;
  remove: (id: string) => void;
  setFilter: (filter: Filter) => void;
};

export const initialTasks: Task[] = [
  { id: "t1", title: "Freeze the release branch", owner: "Ana", due: "2026-12-01", done: true },
  { id: "t2", title: "Run the migration on staging", owner: "Bo", due: "2026-12-03", done: false },
  { id: "t3", title: "Write the changelog", owner: "Chen", due: "2026-12-04", done: false },
  { id: "t4", title: "Announce the maintenance window", owner: "Ana", due: "2026-12-05", done: false },
];

let nextId = initialTasks.length + 1;

export const useTasks = create<TaskState>()((set) => ({
  tasks: initialTasks,
  filter: "all",
  add: (title, owner, due) =>
    set((s) => ({
      tasks: [...s.tasks, { id: `t${nextId++}`, title, owner, due, done: false }],
    })),
  toggle: (id) =>
    set((s) => ({
      tasks: s.tasks.map((t) => (t.id === id ? { ...t, done: !t.done } : t)),
    })),
  remove: (id) => set((s) => ({ tasks: s.tasks.filter((t) => t.id !== id) })),
  setFilter: (filter) => set({ filter }),
}));

export function visibleTasks(tasks: Task[], filter: Filter): Task[] {
  const shown = tasks.filter((t) => filter === "all" || (filter === "done") === t.done);
  return [...shown].sort((a, b) => a.due.localeCompare(b.due) || a.title.localeCompare(b.title));
}

export function progress(tasks: Task[]): number {
  if (tasks.length === 0) return 0;
  return Math.round((tasks.filter((t) => t.done).length / tasks.length) * 100);
}
