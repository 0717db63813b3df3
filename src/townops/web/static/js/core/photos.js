// Photos of a case: a picker that uploads each chosen photo at once (so the form's submit
// only sends ids), and a strip of thumbnails for a case page. The server re-encodes every
// photo and strips its EXIF (GPS) before anyone sees it; see docs/media.md.
//
//   const picker = photoPicker();            form.append(picker.element);
//   … on submit: if (picker.busy()) wait;    json.photos = picker.ids();
//   const strip = photoStrip(case.photos);   if (strip) section.append(strip);

import { toLogin } from "./api.js";
import { h, replaceChildren, useStyle } from "./dom.js";
import { translator } from "./i18n.js";
import { clearLogin, token } from "./session.js";

const messages = {
  zh: {
    add: "添加照片",
    count: "{n}/{max} 张",
    remove: "移除照片",
    dismiss: "关闭",
    uploading: "正在上传…",
    photo: "照片 {n}",
    photoReport: "上报照片 {n}",
    photoResolve: "办结照片 {n}",
    photos: "照片",
    tooMany: "最多 {max} 张照片",
    too_large: "照片太大（最大 10 MB）",
    too_many_pixels: "照片像素过多",
    unsupported_image: "无法识别的图片（支持 JPEG、PNG、WebP、GIF）",
    empty_file: "文件是空的",
    too_many_uploads: "上传太频繁，请稍后再试",
    network: "网络错误，上传失败",
    failed: "上传失败",
  },
  en: {
    add: "Add photos",
    count: "{n}/{max} photos",
    remove: "Remove photo",
    dismiss: "Dismiss",
    uploading: "Uploading…",
    photo: "Photo {n}",
    photoReport: "Reported photo {n}",
    photoResolve: "Resolution photo {n}",
    photos: "Photos",
    tooMany: "At most {max} photos",
    too_large: "Photo too large (at most 10 MB)",
    too_many_pixels: "Photo has too many pixels",
    unsupported_image: "Not an image we can read (JPEG, PNG, WebP, GIF)",
    empty_file: "The file is empty",
    too_many_uploads: "Too many uploads; try again later",
    network: "Network error: not uploaded",
    failed: "Upload failed",
  },
};

const t = translator(messages);
const UPLOAD_URL = "/api/v1/media/photos";
const MAX_BYTES = 10 * 1024 * 1024; // the server's limit: refuse before sending 10 MB for nothing
const THUMB_SIDE = 320;

// Loaded with the module: any page that builds a picker or a strip has the styles.
const styled = useStyle("../../css/photos.css", import.meta.url);

/** Resolves once photos.css applies (a page may await it to avoid a flash). */
export function photoStyles() {
  return styled;
}

class UploadError extends Error {
  constructor(code, message) {
    super(message || code);
    this.code = code;
  }
}

function errorText(error) {
  if (error?.name === "AbortError") return null; // removed while uploading: say nothing
  const code = error?.code;
  if (code && code in messages.zh) return t(code);
  return error?.message && error.message !== code ? `${t("failed")}: ${error.message}` : t("failed");
}

/** POST one file; resolves to {id, url, thumb_url, width, height, size, content_type}. */
async function uploadPhoto(file, signal) {
  if (file.size > MAX_BYTES) throw new UploadError("too_large");
  if (file.size === 0) throw new UploadError("empty_file");
  const bearer = token();
  if (!bearer) {
    toLogin();
    throw new UploadError("unauthenticated", "not logged in");
  }
  const body = new FormData();
  body.append("file", file, file.name || "photo.jpg");
  let response;
  try {
    response = await fetch(UPLOAD_URL, {
      method: "POST",
      body,
      signal,
      headers: { Accept: "application/json", Authorization: `Bearer ${bearer}` },
    });
  } catch (error) {
    if (error?.name === "AbortError") throw error;
    throw new UploadError("network");
  }
  const data = await response.json().catch(() => null);
  if (response.status === 401) {
    clearLogin();
    toLogin();
  }
  if (!response.ok) throw new UploadError(data?.error?.code || "failed", data?.error?.message);
  return data;
}

function thumbSize(photo) {
  const scale = Math.min(1, THUMB_SIDE / Math.max(photo.width || 1, photo.height || 1));
  return {
    width: Math.round((photo.width || THUMB_SIDE) * scale),
    height: Math.round((photo.height || THUMB_SIDE) * scale),
  };
}

/**
 * A button "添加照片 / Add photos" over a hidden file input (the phone offers its camera).
 * Each chosen photo is uploaded at once and shown as a thumbnail with a × to remove it.
 * Returns {element, ids(), busy(), reset()}; the element fires "photoschange" on changes.
 */
export function photoPicker({ max = 9 } = {}) {
  let items = []; // {key, state: "uploading"|"done"|"error", name, photo?, error?, abort?}
  let nextKey = 1;

  const input = h("input", {
    type: "file",
    accept: "image/*",
    // No `capture`: with it some Android browsers open only the camera, and a worker or a
    // resident often has the photo already; without it the phone offers camera or gallery.
    multiple: true,
    class: "photo-input",
    "data-testid": "photo-input",
    onchange: () => {
      const files = [...(input.files || [])];
      input.value = ""; // the same file may be chosen again after removing it
      addFiles(files);
    },
  });
  const addLabel = h(
    "label",
    { class: "photo-add", "data-testid": "photo-add" },
    h("span", { class: "photo-add-icon", "aria-hidden": "true" }, "+"),
    h("span", { text: t("add") }),
    input,
  );
  const list = h("ul", { class: "photo-thumbs" });
  const count = h("span", { class: "photo-count", "aria-live": "polite" });
  const notice = h("p", { class: "photo-notice", role: "status" });
  const element = h(
    "div",
    { class: "photo-picker", "data-testid": "photo-picker" },
    list,
    h("div", { class: "photo-bar" }, addLabel, count),
    notice,
  );

  function kept() {
    return items.filter((item) => item.state !== "error");
  }

  function changed() {
    draw();
    element.dispatchEvent(new CustomEvent("photoschange", { detail: { ids: ids(), busy: busy() } }));
  }

  function addFiles(files) {
    const room = max - kept().length;
    notice.textContent = files.length > room ? t("tooMany", { max }) : "";
    for (const file of files.slice(0, Math.max(room, 0))) {
      const item = { key: nextKey++, state: "uploading", name: file.name };
      const controller = new AbortController();
      item.abort = () => controller.abort();
      items.push(item);
      uploadPhoto(file, controller.signal).then(
        (photo) => {
          item.state = "done";
          item.photo = photo;
          item.abort = null;
          if (items.includes(item)) changed();
        },
        (error) => {
          item.abort = null;
          const text = errorText(error);
          if (text === null || !items.includes(item)) return; // removed while uploading
          item.state = "error";
          item.error = text;
          changed();
        },
      );
    }
    changed();
  }

  function remove(item) {
    if (item.abort) item.abort();
    items = items.filter((other) => other !== item);
    notice.textContent = "";
    changed();
  }

  function thumb(item, n) {
    const removeLabel = item.state === "error" ? t("dismiss") : t("remove");
    let picture;
    if (item.state === "done") {
      const size = thumbSize(item.photo);
      const alt = t("photo", { n });
      picture = h("img", { src: item.photo.thumb_url, alt, width: size.width, height: size.height });
    } else {
      const text = item.state === "uploading" ? t("uploading") : item.name || "";
      picture = h("span", { class: "photo-placeholder", title: item.name || "", "aria-label": text });
    }
    return h(
      "li",
      {
        class: ["photo-thumb", item.state],
        "data-testid": "photo-thumb",
        "data-state": item.state,
        "data-photo-id": item.photo ? item.photo.id : undefined,
      },
      picture,
      h(
        "button",
        { type: "button", class: "photo-remove", "aria-label": removeLabel, title: removeLabel, onclick: () => remove(item) },
        "×",
      ),
      item.state === "uploading" ? h("span", { class: "photo-progress", text: t("uploading") }) : null,
      item.state === "error"
        ? h("p", { class: "photo-error", "data-testid": "photo-error", role: "alert", text: item.error })
        : null,
    );
  }

  function draw() {
    let n = 0;
    replaceChildren(list, items.map((item) => thumb(item, item.state === "error" ? 0 : ++n)));
    const full = kept().length >= max;
    input.disabled = full;
    addLabel.classList.toggle("disabled", full);
    count.textContent = t("count", { n: kept().length, max });
  }

  function ids() {
    return items.filter((item) => item.state === "done").map((item) => item.photo.id);
  }

  function busy() {
    return items.some((item) => item.state === "uploading");
  }

  function reset() {
    for (const item of items) if (item.abort) item.abort();
    items = [];
    input.value = "";
    notice.textContent = "";
    changed();
  }

  draw();
  return { element, ids, busy, reset };
}

/** Thumbnails of a case's photos, each opening the full photo; null when there are none. */
export function photoStrip(photos) {
  if (!photos || photos.length === 0) return null;
  const alt = { report: "photoReport", resolve: "photoResolve" };
  return h(
    "div",
    { class: "photo-strip", "data-testid": "photo-strip" },
    h(
      "ul",
      { class: "photo-thumbs", "aria-label": t("photos") },
      photos.map((photo, i) => {
        const size = thumbSize(photo);
        const text = t(alt[photo.stage] || "photo", { n: i + 1 });
        return h(
          "li",
          {
            class: ["photo-thumb", "done"],
            "data-testid": "photo-thumb",
            "data-photo-id": photo.id,
            "data-stage": photo.stage || undefined,
          },
          h(
            "a",
            { href: photo.url, target: "_blank", rel: "noopener", title: text },
            h("img", { src: photo.thumb_url, alt: text, width: size.width, height: size.height, loading: "lazy" }),
          ),
        );
      }),
    ),
  );
}
