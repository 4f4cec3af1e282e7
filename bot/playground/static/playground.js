// architect-bot playground: the page's behaviour. No framework, no build step.
// Every piece of HTML inserted here was rendered (and escaped) by the server; text typed by a
// person only ever travels as JSON and is shown through textContent.
"use strict";

(function () {
  const body = document.body;
  const viewer = body.dataset.viewer;
  const channel = body.dataset.channel;
  const messages = document.getElementById("messages");
  const threadPane = document.getElementById("thread");
  const modalRoot = document.getElementById("modal-root");
  const toast = document.getElementById("toast");
  const LIMIT = 40000;

  function fragment(html) {
    const template = document.createElement("template");
    template.innerHTML = html;
    return template.content.firstElementChild;
  }

  function say(text) {
    toast.textContent = text;
    toast.hidden = false;
    clearTimeout(say.timer);
    say.timer = setTimeout(() => { toast.hidden = true; }, 6000);
  }

  async function post(path, payload) {
    const response = await fetch(path, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(Object.assign({ as: viewer }, payload)),
    });
    if (!response.ok) {
      return { ok: false, error: "The playground refused that (" + response.status + ")." };
    }
    return response.json();
  }

  // ------------------------------------------------------------------ inserting messages

  function upsert(list, ts, node) {
    if (!list || !node) return;
    const existing = list.querySelector(':scope > [data-ts="' + CSS.escape(ts) + '"]');
    if (existing) {
      existing.replaceWith(node);
      return;
    }
    const after = Array.from(list.children).find((child) => parseFloat(child.dataset.ts) > parseFloat(ts));
    const atBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 80;
    list.insertBefore(node, after || null);
    if (!after && atBottom) list.scrollTop = list.scrollHeight;
  }

  function remove(list, ts) {
    if (!list) return;
    const existing = list.querySelector(':scope > [data-ts="' + CSS.escape(ts) + '"]');
    if (existing) existing.remove();
  }

  function openThreadTs() {
    return threadPane.hidden ? null : threadPane.dataset.thread;
  }

  function threadList() {
    return threadPane.querySelector(".thread-replies");
  }

  function apply(update) {
    if (update.kind === "message") {
      const inThread = update.thread_ts && update.thread_ts !== update.ts;
      if (update.deleted) {
        remove(inThread ? threadList() : messages, update.ts);
      } else if (inThread) {
        if (openThreadTs() === update.thread_ts) upsert(threadList(), update.ts, fragment(update.thread_html));
      } else {
        upsert(messages, update.ts, fragment(update.channel_html));
        if (openThreadTs() === update.ts) {
          const parent = threadPane.querySelector(".thread-parent");
          if (parent) parent.replaceChildren(fragment(update.thread_html));
        }
      }
      if (update.parent_html) {
        const parentTs = update.thread_ts;
        const node = messages && messages.querySelector(':scope > [data-ts="' + CSS.escape(parentTs) + '"]');
        if (node) node.replaceWith(fragment(update.parent_html));
      }
    } else if (update.kind === "ephemeral") {
      if (update.thread_ts) {
        if (openThreadTs() === update.thread_ts) upsert(threadList(), update.ts, fragment(update.html));
      } else {
        upsert(messages, update.ts, fragment(update.html));
      }
    } else if (update.kind === "modal") {
      modalRoot.replaceChildren(fragment(update.html));
      const field = modalRoot.querySelector("textarea, input");
      if (field) field.focus();
    } else if (update.kind === "modal_closed") {
      const open = modalRoot.querySelector('[data-id="' + CSS.escape(update.id) + '"]');
      if (open) modalRoot.replaceChildren();
    } else if (update.kind === "home") {
      const home = document.getElementById("home");
      if (home) home.innerHTML = update.html;
    } else if (update.kind === "unread") {
      const link = document.querySelector('[data-channel-link="' + CSS.escape(update.channel || "") + '"]');
      if (link) link.classList.add("unread");
    }
  }

  // ------------------------------------------------------------------------- live updates

  function listen() {
    const query = new URLSearchParams({ as: viewer, channel: channel, after: body.dataset.seq });
    const source = new EventSource("/ui/events?" + query.toString());
    source.onmessage = (event) => {
      body.dataset.seq = event.lastEventId || body.dataset.seq;
      apply(JSON.parse(event.data));
    };
    source.onopen = () => body.classList.add("live");
    source.onerror = () => body.classList.remove("live");
  }

  // ------------------------------------------------------------------------------ threads

  async function openThread(ts) {
    const query = new URLSearchParams({ as: viewer, channel: channel, ts: ts });
    const response = await fetch("/ui/thread?" + query.toString());
    threadPane.innerHTML = await response.text();
    threadPane.dataset.thread = ts;
    threadPane.hidden = false;
    const url = new URL(window.location.href);
    url.searchParams.set("thread", ts);
    history.replaceState(null, "", url);
    const list = threadList();
    if (list) list.scrollTop = list.scrollHeight;
    const box = threadPane.querySelector("textarea");
    if (box) box.focus();
  }

  function closeThread() {
    threadPane.hidden = true;
    threadPane.dataset.thread = "";
    threadPane.replaceChildren();
    const url = new URL(window.location.href);
    url.searchParams.delete("thread");
    history.replaceState(null, "", url);
  }

  // ----------------------------------------------------------------------------- composer

  function noteFor(form, text) {
    const note = form.querySelector(".composer-note");
    note.textContent = text;
    form.classList.toggle("has-note", Boolean(text));
  }

  function chosenFile(form) {
    const input = form.querySelector('input[type="file"]');
    return input && input.files.length ? input.files[0] : null;
  }

  function readBase64(file) {
    return new Promise((resolve, reject) => {
      const reader = new FileReader();
      reader.onload = () => resolve(String(reader.result).split(",", 2)[1] || "");
      reader.onerror = () => reject(reader.error);
      reader.readAsDataURL(file);
    });
  }

  function refresh(form) {
    const box = form.querySelector("textarea");
    const send = form.querySelector(".send");
    const length = box.value.length;
    const file = chosenFile(form);
    const attached = form.querySelector(".attached");
    attached.hidden = !file;
    attached.textContent = file ? "📎 " + file.name + " (" + Math.ceil(file.size / 1024) + " KB)" : "";
    send.disabled = (box.value.trim() === "" && !file) || length > LIMIT;
    if (length > LIMIT) {
      noteFor(form, "Too long: " + length.toLocaleString() + " characters. Slack allows " + LIMIT.toLocaleString() + ".");
    } else {
      noteFor(form, "");
    }
  }

  async function submit(form) {
    const box = form.querySelector("textarea");
    const text = box.value;
    const file = chosenFile(form);
    if ((text.trim() === "" && !file) || text.length > LIMIT) {
      refresh(form);
      return;
    }
    const send = form.querySelector(".send");
    send.disabled = true;
    form.classList.add("sending");
    const payload = { channel: form.dataset.channel, thread_ts: form.dataset.thread || null, text: text };
    if (file) {
      payload.file = { name: file.name, mimetype: file.type, content: await readBase64(file) };
    }
    const answer = await post("/ui/send", payload);
    form.classList.remove("sending");
    if (answer.ok) {
      box.value = "";
      const input = form.querySelector('input[type="file"]');
      if (input) input.value = "";
      noteFor(form, "");
    } else {
      noteFor(form, answer.error || "Not sent.");
    }
    refresh(form);
  }

  document.addEventListener("input", (event) => {
    const form = event.target.closest(".composer");
    if (form) refresh(form);
  });

  document.addEventListener("change", (event) => {
    const form = event.target.closest(".composer");
    if (form) refresh(form);
  });

  document.addEventListener("keydown", (event) => {
    const form = event.target.closest(".composer");
    if (form && event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      submit(form);
    }
    if (event.key === "Escape" && modalRoot.firstElementChild) {
      const modal = modalRoot.querySelector(".modal");
      if (modal) closeModal(modal);
    }
  });

  document.addEventListener("submit", (event) => {
    const form = event.target;
    event.preventDefault();
    if (form.classList.contains("composer")) submit(form);
    if (form.classList.contains("modal")) submitModal(form);
  });

  // ------------------------------------------------------------------------------- modals

  async function submitModal(form) {
    const values = {};
    form.querySelectorAll("textarea[name], input[name]").forEach((field) => {
      const [blockId, actionId] = field.name.split("\u001f");
      values[blockId] = values[blockId] || {};
      values[blockId][actionId] = field.value;
    });
    const button = form.querySelector(".modal-submit");
    if (button) button.disabled = true;
    const answer = await post("/ui/view", { id: form.dataset.id, action: "submit", values: values });
    if (button) button.disabled = false;
    if (answer.html) {
      modalRoot.replaceChildren(fragment(answer.html));
    } else if (!answer.ok) {
      form.querySelector(".modal-error").textContent = answer.error || "Not sent.";
    }
  }

  async function closeModal(form) {
    modalRoot.replaceChildren();
    await post("/ui/view", { id: form.dataset.id, action: "close" });
  }

  // ------------------------------------------------------------------------------- clicks

  document.addEventListener("click", async (event) => {
    const target = event.target;
    const opener = target.closest("[data-open-thread]");
    if (opener) {
      openThread(opener.dataset.openThread);
      return;
    }
    if (target.closest(".close-thread")) {
      closeThread();
      return;
    }
    if (target.closest(".dismiss")) {
      const message = target.closest(".msg");
      if (message) message.remove();
      return;
    }
    const modal = target.closest(".modal");
    if (modal && target.closest(".modal-close, .modal-cancel")) {
      closeModal(modal);
      return;
    }
    const button = target.closest("[data-element]");
    if (!button) return;
    const container = button.closest("[data-container]");
    const block = button.closest("[data-block]");
    if (!container || !block) return;
    if (button.tagName === "BUTTON") button.disabled = true;
    const answer = await post("/ui/action", {
      container: container.dataset.container,
      id: container.dataset.id,
      block: Number(block.dataset.block),
      element: button.dataset.element,
      side: button.dataset.side || null,
    });
    if (button.isConnected && button.tagName === "BUTTON") button.disabled = false;
    if (!answer.ok) say(answer.error || "That did not work.");
  });

  const picker = document.getElementById("viewer");
  if (picker) {
    picker.addEventListener("change", () => {
      const url = new URL(window.location.href);
      url.searchParams.set("as", picker.value);
      url.searchParams.delete("thread");
      window.location.assign(url);
    });
  }

  document.querySelectorAll(".composer").forEach(refresh);
  if (messages) messages.scrollTop = messages.scrollHeight;
  if (!channel) fetch("/ui/home?" + new URLSearchParams({ as: viewer }).toString());
  listen();
})();
