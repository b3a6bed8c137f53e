import { differenceInCalendarDays, format, isValid, parseISO } from "date-fns";

export type DueTone = "late" | "soon" | "later";

// describeDue says when a task is due relative to today, the way the board
// shows it: "today", "in 3 days", "2 days late".
export function describeDue(due: string, today: Date): { label: string; tone: DueTone } {
  const date = parseISO(due);
  if (!isValid(date)) {
    return { label: "no due date", tone: "later" };
  }
  const days = differenceInCalendarDays(date, today);
  if (days < 0) {
    return { label: `${-days} day${days === -1 ? "" : "s"} late`, tone: "late" };
  }
  if (days === 0) return { label: "today", tone: "soon" };
  if (days === 1) return { label: "tomorrow", tone: "soon" };
  return { label: `in ${days} days`, tone: days <= 3 ? "soon" : "later" };
}

export function longDate(due: string): string {
  const date = parseISO(due);
  return isValid(date) ? format(date, "EEEE d MMMM yyyy") : "—";
}
