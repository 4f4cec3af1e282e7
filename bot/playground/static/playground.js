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

  // The element that scrolls a list: the channel's message list, or the open thread's pane.
  function scrollerOf(list) {
    return (list && list.closest(".thread-scroll")) || list;
  }

  function atEnd(scroller) {
    return !scroller || scroller.scrollHeight - scroller.scrollTop - scroller.clientHeight < 80;
  }

  // Keep a list at its end while it grows (a streamed answer, a new reply), as Slack does, unless
  // the person scrolled up to read.
  function following(list, change) {
    const scroller = scrollerOf(list);
    const wasAtEnd = atEnd(scroller);
    change();
    if (scroller && wasAtEnd) scroller.scrollTop = scroller.scrollHeight;
  }

  function upsert(list, ts, node) {
    if (!list || !node) return;
    following(list, () => {
      const existing = list.querySelector(':scope > [data-ts="' + CSS.escape(ts) + '"]');
      if (existing) {
        existing.replaceWith(node);
        return;
      }
      const after = Array.from(list.children).find((child) => parseFloat(child.dataset.ts) > parseFloat(ts));
      list.insertBefore(node, after || null);
    });
  }

  function showStatus(threadTs, html) {
    if (openThreadTs() !== threadTs) return;
    const slot = threadPane.querySelector(".thread-status-slot");
    if (slot) following(threadList(), () => { slot.innerHTML = html || ""; });
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
      if (update.status_html !== undefined && update.thread_ts) showStatus(update.thread_ts, update.status_html);
    } else if (update.kind === "status") {
      showStatus(update.thread_ts, update.html);
    } else if (update.kind === "prompts") {
      const chips = document.querySelector("main .prompts");
      if (chips) chips.replaceWith(fragment(update.html));
    } else if (update.kind === "ephemeral_gone") {
      remove(update.thread_ts ? threadList() : messages, update.ts);
    } else if (update.kind === "ephemeral") {
      if (update.thread_ts) {
        if (openThreadTs() === update.thread_ts) upsert(threadList(), update.ts, fragment(update.html));
      } else {
        upsert(messages, update.ts, fragment(update.html));
      }
    } else if (update.kind === "modal") {
      modalRoot.replaceChildren(fragment(update.html));
      const field = modalRoot.querySelector("textarea, input:not(.bk-search)");
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
    const scroller = scrollerOf(threadList());
    if (scroller) scroller.scrollTop = scroller.scrollHeight;
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
    form.querySelectorAll("textarea[name], input[name], select[name]").forEach((field) => {
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

  // ------------------------------------------------------------------------- block kit

  // What identifies an element for the server: its container (message, ephemeral, view, home),
  // the block's index and the element's index ("a": a section's accessory, "e": an input's).
  function where(node) {
    const container = node.closest("[data-container]");
    const block = node.closest("[data-block]");
    const element = node.closest("[data-element]");
    if (!container || !block || !element) return null;
    return {
      container: container.dataset.container,
      id: container.dataset.id,
      block: Number(block.dataset.block),
      element: element.dataset.element,
    };
  }

  // An input of a modal only remembers its choice; anywhere else a choice is an action for the app.
  function inModalInput(node) {
    return Boolean(node.closest(".bk-input"));
  }

  async function act(node, extra) {
    const place = where(node);
    if (!place) return;
    const answer = await post("/ui/action", Object.assign(place, extra || {}));
    if (!answer.ok) say(answer.error || "That did not work.");
    return answer;
  }

  document.addEventListener("change", (event) => {
    const select = event.target.closest(".bk-select");
    if (select && !inModalInput(select)) act(select, { value: select.value });
  });

  async function suggest(search) {
    const box = search.closest(".bk-external");
    const list = box.querySelector(".bk-options");
    const place = where(box);
    if (!place) return;
    const answer = await post("/ui/options", Object.assign(place, { query: search.value }));
    if (!answer.ok) {
      say(answer.error || "No options.");
      return;
    }
    list.innerHTML = answer.html;
    list.hidden = false;
  }

  document.addEventListener("input", (event) => {
    const search = event.target.closest(".bk-search");
    if (!search) return;
    clearTimeout(suggest.timer);
    suggest.timer = setTimeout(() => suggest(search), 150);
  });

  document.addEventListener("focusin", (event) => {
    const search = event.target.closest(".bk-search");
    if (search) suggest(search);
  });

  function choose(option) {
    const box = option.closest(".bk-external");
    box.querySelector(".bk-search").value = option.textContent;
    box.querySelector(".bk-chosen").value = option.dataset.value;
    box.querySelector(".bk-options").hidden = true;
    if (!inModalInput(box)) act(box, { value: option.dataset.value });
  }

  async function shortcut(button) {
    const message = button.closest("[data-ts]");
    const menu = button.closest("details");
    if (menu) menu.open = false;
    const answer = await post("/ui/shortcut", {
      channel: message.dataset.channel,
      ts: message.dataset.ts,
      callback_id: button.dataset.shortcut,
    });
    if (!answer.ok) say(answer.error || "That did not work.");
  }

  // ------------------------------------------------------------------------------- clicks

  document.addEventListener("click", async (event) => {
    const target = event.target;
    const local = target.closest("a[data-local]");
    if (local) {  // a link into this workspace (a thread, a canvas): opened here, as this person
      const url = new URL(local.href, window.location.href);
      url.searchParams.set("as", viewer);
      local.href = url.toString();
      return;
    }
    const option = target.closest(".bk-option");
    if (option) {
      choose(option);
      return;
    }
    const prompt = target.closest(".prompt");
    if (prompt) {  // a suggested prompt: sent as the person's message
      const form = document.querySelector("main .composer");
      form.querySelector("textarea").value = prompt.dataset.prompt;
      submit(form);
      return;
    }
    const short = target.closest(".shortcut");
    if (short) {
      shortcut(short);
      return;
    }
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
    const button = target.closest("button[data-element], a[data-element]");
    if (!button || !where(button)) return;
    const menu = button.closest("details");
    if (menu) menu.open = false;
    const feedback = button.classList.contains("bk-feedback");
    if (button.tagName === "BUTTON") button.disabled = true;
    const answer = await act(button, { side: button.dataset.side || null, value: button.dataset.value || null });
    if (button.isConnected && button.tagName === "BUTTON") button.disabled = false;
    if (answer && answer.ok && feedback) {  // Slack shows the choice, and thanks
      button.setAttribute("aria-pressed", "true");
      say("Thanks for your feedback.");
    }
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
  if (channel && channel.startsWith("D")) {  // the app's Messages tab
    fetch("/ui/home?" + new URLSearchParams({ as: viewer, tab: "messages" }).toString());
  }
  listen();
})();
