import { format } from "date-fns";
import { useMemo } from "react";
import AddTaskForm from "../components/AddTaskForm.tsx";
import FilterTabs from "../components/FilterTabs.tsx";
import TaskList from "../components/TaskList.tsx";
import { useTasks, visibleTasks } from "../store/tasks.ts";

export default function BoardPage() {
  const { tasks, filter, add, toggle, remove, setFilter } = useTasks();
  const today = useMemo(() => new Date(), []);
  const shown = visibleTasks(tasks, filter);
  return (
    <section>
      <h1>Before we ship</h1>
      <FilterTabs value={filter} onChange={setFilter} />
      <TaskList tasks={shown} today={today} onToggle={toggle} onRemove={remove} />
      <AddTaskForm onAdd={add} defaultDue={format(today, "yyyy-MM-dd")} />
    </section>
  );
}
