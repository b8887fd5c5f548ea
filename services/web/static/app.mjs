// Progressive enhancement only: every page works without this file.
import { initAll as initGovuk } from '/assets/govuk/govuk-frontend.min.js'
import { initAll as initMoj } from '/assets/moj/moj-frontend.min.js'

document.body.classList.add('js-enabled', 'govuk-frontend-supported')
initGovuk()
initMoj()

// Pages that watch something change (a CSV upload's progress) refresh in place with htmx;
// this stops the polling once the server says the work is done.
document.body.addEventListener('htmx:afterSwap', (event) => {
  const done = event.detail.target.querySelector('[data-hearth-done]')
  if (done) event.detail.target.removeAttribute('hx-trigger')
})
