// The live feed from GET /api/v1/live (server-sent events). EventSource cannot send the
// bearer token, so each connection first takes a one-minute ticket and passes it as
// ?access_token=. On any error the connection is closed and opened again with a fresh
// ticket (backing off up to 30 s), resuming after the last event seen.

import { api } from "./api.js";

/** openLive({jurisdiction, onItem(item), onState("open"|"connecting"|"down")}) → {close()} */
export function openLive({ jurisdiction, onItem, onState = () => {} }) {
  let source = null;
  let closed = false;
  let lastId = null;
  let delay = 1000;
  let timer = null;

  const receive = (event) => {
    if (event.lastEventId) lastId = event.lastEventId;
    try {
      onItem(JSON.parse(event.data));
    } catch (error) {
      console.error("live feed: bad event", error);
    }
  };

  const again = (wait) => {
    if (closed) return;
    clearTimeout(timer);
    timer = setTimeout(connect, wait);
  };

  async function connect() {
    if (closed) return;
    onState("connecting");
    let ticket;
    try {
      ({ ticket } = await api("/api/v1/live/ticket", { method: "POST" }));
    } catch (error) {
      if (error?.status === 401) return; // on the way to the log-in page
      onState("down");
      again((delay = Math.min(delay * 2, 30000)));
      return;
    }
    if (closed) return;
    const query = new URLSearchParams({ access_token: ticket });
    if (jurisdiction) query.set("jurisdiction", jurisdiction);
    if (lastId) query.set("since", lastId);
    source = new EventSource(`/api/v1/live?${query}`);
    source.addEventListener("open", () => {
      delay = 1000;
      onState("open");
    });
    source.addEventListener("case", receive);
    source.addEventListener("alarm", receive);
    source.addEventListener("bye", (event) => {
      if (event.lastEventId) lastId = event.lastEventId;
      source.close();
      again(0);
    });
    source.addEventListener("error", () => {
      source.close();
      onState("down");
      again((delay = Math.min(delay * 2, 30000)));
    });
  }

  connect();
  return {
    close() {
      closed = true;
      clearTimeout(timer);
      if (source) source.close();
    },
  };
}
