// The names behind the codes the API answers with (categories, departments, places,
// case kinds),
// fetched once per log-in from /api/v1/web/reference and kept for the session.

import { cachedApi } from "./api.js";
import { learnWords } from "./labels.js";

/**
 * Resolves to {raw, categories, departments, places}: `raw` is the answer as is (the
 * action forms take it), the others are Maps from code to {code, name_zh, name_en, …}.
 * A failed fetch gives empty maps: pages then show codes rather than nothing.
 */
export async function loadReference() {
  const raw = await cachedApi("/api/v1/web/reference").catch(() => null);
  learnWords("kind", raw?.kinds);
  const byCode = (group) => new Map((raw?.[group] || []).map((x) => [x.code, x]));
  return {
    raw,
    categories: byCode("categories"),
    departments: byCode("departments"),
    places: byCode("jurisdictions"),
  };
}
