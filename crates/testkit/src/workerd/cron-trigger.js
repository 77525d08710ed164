// The cron socket's Worker under bare workerd: `GET /__scheduled?cron=...` runs the main
// Worker's scheduled() handler over a service binding (what wrangler's --test-scheduled does).
export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    if (url.pathname !== "/__scheduled") return new Response("not found", { status: 404 });
    const cron = url.searchParams.get("cron") ?? "*/5 * * * *";
    const result = await env.WORKER.scheduled({ cron, scheduledTime: new Date() });
    return new Response(JSON.stringify(result), { status: result.outcome === "ok" ? 200 : 500 });
  },
};
