import type { Filter } from "../store/tasks.ts";

const filters: Filter[] = ["all", "open", "done"];

export default function FilterTabs({ value, onChange }: { value: Filter; onChange: (f: Filter) => void }) {
  return (
    <div className="filters" role="tablist">
      {filters.map((f) => (
        <button key={f} type="button" role="tab" aria-selected={f === value} onClick={() => onChange(f)}>
          {f}
        </button>
      ))}
    </div>
  );
}
