// A list of cases that grows a page at a time (加载更多): the case list, the inbox's
// sections and the resident's requests all page through GET /api/v1/cases the same way.

import { api } from "./api.js";
import { replaceChildren } from "./dom.js";
import { errorBox } from "./shell.js";

/**
 * Wires `more` (a button) to load the next page into `list`, and returns
 * `load({reset, ready})`: the next page, or page 1 again with `reset` (its rows replace the
 * list). `query` = the list's filters; `row(c)` draws a case; `empty()` the item shown when
 * there is none; `onFirstPage(data)` gets page 1's answer (its `total`); `ready`, a promise
 * to wait for before drawing (e.g. marks the rows need); `prepare(items)`, an async step per
 * page before its rows are drawn (e.g. asking about these cases). Errors go to `errorSlot`.
 */
export function casePager({ query, pageSize, list, more, errorSlot, row, empty, onFirstPage, prepare }) {
  let page = 0;
  async function load({ reset = false, ready = null } = {}) {
    more.disabled = true;
    const next = reset ? 1 : page + 1;
    try {
      const data = await api("/api/v1/cases", {
        query: { ...query, page: next, page_size: pageSize, with_total: next === 1 },
      });
      await ready;
      if (prepare) await prepare(data.items);
      page = next;
      if (next === 1) {
        replaceChildren(list);
        onFirstPage?.(data);
        if (!data.items.length) list.append(empty());
      }
      for (const c of data.items) list.append(row(c));
      more.hidden = !data.has_more;
      replaceChildren(errorSlot);
    } catch (error) {
      if (error?.status !== 401) replaceChildren(errorSlot, errorBox(error, () => load({ reset })));
    } finally {
      more.disabled = false;
    }
  }
  more.addEventListener("click", () => load());
  return load;
}
