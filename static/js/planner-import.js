// The import page: send the file with XMLHttpRequest to show upload progress, then show the server's page.
// Without JavaScript (or without FormData/XHR upload events) the form posts normally.
(function () {
  "use strict";
  var form = document.getElementById("import-form");
  var bar = document.getElementById("import-progress");
  if (!form || !bar || !window.FormData || !window.XMLHttpRequest) return;
  form.addEventListener("submit", function (event) {
    var xhr = new XMLHttpRequest();
    if (!xhr.upload) return; // no progress events: let the browser post the form
    event.preventDefault();
    var button = form.querySelector("button[type=submit]");
    if (button) button.disabled = true;
    bar.hidden = false;
    bar.value = 0;
    xhr.upload.onprogress = function (e) {
      if (e.lengthComputable) {
        bar.value = Math.round((e.loaded / e.total) * 100);
      } else {
        bar.removeAttribute("value"); // indeterminate
      }
    };
    xhr.upload.onload = function () { bar.removeAttribute("value"); }; // uploaded: the server is checking
    xhr.onload = function () {
      // The answer is the whole page (the report or the error): show it in place of this one.
      document.open();
      document.write(xhr.responseText);
      document.close();
    };
    xhr.onerror = function () {
      if (button) button.disabled = false;
      bar.hidden = true;
      form.submit(); // the network failed under XHR: fall back to a normal post
    };
    xhr.open("POST", form.action);
    xhr.setRequestHeader("Accept", "text/html");
    xhr.send(new FormData(form));
  });
})();
