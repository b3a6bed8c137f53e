import { Route, Routes } from "react-router";
import Layout from "./components/Layout.tsx";
import BoardPage from "./pages/BoardPage.tsx";
import NotFoundPage from "./pages/NotFoundPage.tsx";
import TaskPage from "./pages/TaskPage.tsx";

export default function App() {
  return (
    <Routes>
      <Route element={<Layout />}>
        <Route index element={<BoardPage />} />
        <Route path="tasks/:id" element={<TaskPage />} />
        <Route path="*" element={<NotFoundPage />} />
      </Route>
    </Routes>
  );
}
