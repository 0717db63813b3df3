// The names behind the codes the API answers with (categories, departments, places,
// case kinds, the sensing words),
// fetched once per log-in from /api/v1/web/reference and kept for the session.

import { cachedApi } from "./api.js";
import { learnSensing } from "./alarms.js";
import { learnWords } from "./labels.js";

/**
 * Resolves to {raw, categories, departments, places}: `raw` is the answer as is (the
 * action forms take it), the others are Maps from code to {code, name_zh, name_en, …}.
 * A failed fetch gives empty maps: pages then show codes rather than nothing.
 */
export async function loadReference() {
  const raw = await cachedApi("/api/v1/web/reference").catch(() => null);
  learnWords("kind", raw?.kinds);
  // So that shared pieces (the timeline, refusals, alarm summaries) can name codes too.
  learnWords("category", raw?.categories);
  learnWords("department", raw?.departments);
  learnWords("place", raw?.jurisdictions);
  learnWords("device_type", raw?.sensing?.device_types);
  learnWords("alarm_rule", raw?.sensing?.rules);
  learnSensing(raw?.sensing);
  const byCode = (group) => new Map((raw?.[group] || []).map((x) => [x.code, x]));
  return {
    raw,
    categories: byCode("categories"),
    departments: byCode("departments"),
    places: byCode("jurisdictions"),
  };
}
