// libedit's el_set, el_get and history are variadic: Swift cannot call them.
// Each use is wrapped here in a small static inline function.
#ifndef CEDITLINE_SHIM_H
#define CEDITLINE_SHIM_H
#include <stdio.h>
#include <histedit.h>

typedef char *(*cedit_prompt_fn)(EditLine *);
typedef unsigned char (*cedit_command_fn)(EditLine *, int);

static inline int cedit_set_prompt(EditLine *el, cedit_prompt_fn fn) {
  return el_set(el, EL_PROMPT, fn);
}
static inline int cedit_set_editor(EditLine *el, const char *mode) {
  return el_set(el, EL_EDITOR, mode);
}
static inline int cedit_set_history(EditLine *el, History *h) {
  return el_set(el, EL_HIST, history, h);
}
static inline int cedit_add_function(EditLine *el, const char *name, const char *help, cedit_command_fn fn) {
  return el_set(el, EL_ADDFN, name, help, fn);
}
static inline int cedit_bind(EditLine *el, const char *key, const char *function) {
  return el_set(el, EL_BIND, key, function, NULL);
}
static inline int cedit_set_client_data(EditLine *el, void *data) {
  return el_set(el, EL_CLIENTDATA, data);
}
static inline void *cedit_get_client_data(EditLine *el) {
  void *data = NULL;
  el_get(el, EL_CLIENTDATA, &data);
  return data;
}
// In edit mode, the terminal sends Ctrl-C as a key (no SIGINT): it then arrives in order with
// the other keys, and a key binding can act on it.
static inline int cedit_edit_mode_without_signals(EditLine *el) {
  return el_set(el, EL_SETTY, "-d", "-isig", NULL);
}

typedef int (*cedit_read_fn)(EditLine *, wchar_t *);
static inline int cedit_set_getc(EditLine *el, cedit_read_fn fn) {
  return el_set(el, EL_GETCFN, fn);
}
static inline int cedit_refresh(EditLine *el) {
  return el_set(el, EL_REFRESH);
}

static inline int cedit_history_set_size(History *h, int size) {
  HistEvent ev;
  return history(h, &ev, H_SETSIZE, size);
}
static inline int cedit_history_unique(History *h, int on) {
  HistEvent ev;
  return history(h, &ev, H_SETUNIQUE, on);
}
static inline int cedit_history_enter(History *h, const char *line) {
  HistEvent ev;
  return history(h, &ev, H_ENTER, line);
}
static inline int cedit_history_load(History *h, const char *path) {
  HistEvent ev;
  return history(h, &ev, H_LOAD, path);
}
// The entries oldest first: the text of entry `index` (0 = oldest), or NULL past the end.
static inline const char *cedit_history_entry(History *h, int index) {
  HistEvent ev;
  if (history(h, &ev, H_LAST) == -1) return NULL;
  for (int i = 0; i < index; i++) {
    if (history(h, &ev, H_PREV) == -1) return NULL;
  }
  return ev.str;
}
static inline int cedit_history_count(History *h) {
  HistEvent ev;
  if (history(h, &ev, H_GETSIZE) == -1) return 0;
  return ev.num;
}
#endif
