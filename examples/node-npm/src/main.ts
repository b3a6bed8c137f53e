import { h, render } from "preact";
import { useState } from "preact/hooks";

// Counter is written with h() rather than JSX so tsc needs no JSX setup.
function Counter(props: { start: number }) {
  const [n, setN] = useState(props.start);
  return h("div", null,
    h("p", null, `Built ${n} time${n === 1 ? "" : "s"}`),
    h("button", { onClick: () => setN(n + 1) }, "Build again"),
  );
}

const root = document.getElementById("app");
if (root) {
  render(h(Counter, { start: 1 }), root);
}
