/*
 * The dashboard's script (docs/web.md "Dashboard"), served as-is at /app.js:
 * no build step, no library. Without it the page's plain forms still upload
 * and download; with it
 *   - an upload is one PUT /uri of the file with a progress bar, and the cap
 *     appears with a download link and a copy button;
 *   - the download form keeps a direct link to /uri/CAP?filename=NAME.
 * Text from the server or the user only ever goes into textContent or a URL
 * component, never into markup.
 */
/* global document, XMLHttpRequest, navigator, window */
'use strict';

(function () {
  const DEFAULT_FILENAME = 'download';
  const $ = (id) => document.getElementById(id);

  function fileHref(cap, filename) {
    return '/uri/' + encodeURIComponent(cap) + '?filename=' + encodeURIComponent(filename || DEFAULT_FILENAME);
  }

  // --- upload ---------------------------------------------------------------

  const form = $('upload-form');
  const input = $('upload-file');
  const button = $('upload-button');
  const progress = $('upload-progress');
  const bar = $('upload-bar');
  const percent = $('upload-percent');
  const state = $('upload-state');
  const error = $('upload-error');
  const uploaded = $('uploaded');
  const copy = $('copy-cap');
  const copyState = $('copy-state');

  function setProgress(fraction) {
    const p = Math.min(100, Math.floor(fraction * 100));
    bar.value = p;
    percent.textContent = p + ' %';
  }

  function showCap(cap, name) {
    $('uploaded-cap').textContent = cap;
    $('uploaded-name').textContent = name ? ' ' + name : '';
    $('uploaded-link').href = fileHref(cap, name);
    copyState.textContent = '';
    uploaded.hidden = false;
  }

  function fail(message) {
    error.textContent = message;
    error.hidden = false;
  }

  form.addEventListener('submit', (event) => {
    const file = input.files && input.files[0];
    if (!file) return; // the browser's own "required" message
    event.preventDefault();
    error.hidden = true;
    uploaded.hidden = true;
    progress.hidden = false;
    setProgress(0);
    state.textContent = 'sending…';
    button.disabled = true;

    const xhr = new XMLHttpRequest();
    xhr.open('PUT', '/uri');
    xhr.upload.addEventListener('progress', (e) => {
      if (e.lengthComputable && e.total > 0) setProgress(e.loaded / e.total);
    });
    xhr.upload.addEventListener('load', () => {
      // Every byte reached this server; it now encodes and stores the file on the grid.
      setProgress(1);
      state.textContent = 'storing on the grid…';
    });
    xhr.addEventListener('load', () => {
      button.disabled = false;
      if (xhr.status === 201) {
        setProgress(1);
        state.textContent = 'done';
        showCap(xhr.responseText.trim(), file.name);
      } else {
        state.textContent = 'failed';
        fail('Upload failed (' + xhr.status + '): ' + xhr.responseText.trim());
      }
    });
    xhr.addEventListener('error', () => {
      button.disabled = false;
      state.textContent = 'failed';
      fail('Upload failed: the server could not be reached.');
    });
    xhr.send(file);
  });

  // --- copy the cap ---------------------------------------------------------

  copy.hidden = false;
  copy.addEventListener('click', () => {
    const cap = $('uploaded-cap').textContent;
    const done = () => (copyState.textContent = 'copied');
    const fallback = () => {
      // No clipboard API: select the cap, so Ctrl+C copies it.
      const range = document.createRange();
      range.selectNodeContents($('uploaded-cap'));
      const selection = window.getSelection();
      selection.removeAllRanges();
      selection.addRange(range);
      copyState.textContent = 'selected: press Ctrl+C to copy';
    };
    if (navigator.clipboard && navigator.clipboard.writeText) navigator.clipboard.writeText(cap).then(done, fallback);
    else fallback();
  });

  // --- download link --------------------------------------------------------

  const capField = $('download-cap');
  const nameField = $('download-name');
  const link = $('download-link');

  function updateLink() {
    const cap = capField.value.trim();
    link.hidden = cap === '';
    link.href = cap === '' ? '#' : fileHref(cap, nameField.value.trim());
  }
  capField.addEventListener('input', updateLink);
  nameField.addEventListener('input', updateLink);
  updateLink();
})();
