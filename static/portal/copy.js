// Copy buttons: <button data-copy-target="<element id>" data-copied-text="Copied"> copies that element's text.
// A file of its own because the Content-Security-Policy refuses inline scripts.
document.addEventListener("click", (event) => {
  const button = event.target.closest("[data-copy-target]");
  if (!button || !navigator.clipboard) return;
  const source = document.getElementById(button.dataset.copyTarget);
  if (!source) return;
  navigator.clipboard.writeText(source.textContent.trim()).then(() => {
    const label = button.textContent;
    button.textContent = button.dataset.copiedText || label;
    setTimeout(() => { button.textContent = label; }, 2000);
  });
});
