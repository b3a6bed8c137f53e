// Fetches the greeting from the Go backend that serves this page.
interface Hello {
  message: string;
  served: string;
}

async function load(out: HTMLElement): Promise<void> {
  const res = await fetch("/api/hello");
  if (!res.ok) {
    out.textContent = `backend error: ${res.status}`;
    return;
  }
  const body = (await res.json()) as Hello;
  out.textContent = `${body.message} (served ${body.served})`;
}

const out = document.getElementById("out");
if (out) {
  load(out).catch((err) => (out.textContent = String(err)));
}
