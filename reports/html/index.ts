export { formatHtml, traceLadder, type PageInputs } from './page.js';
export { ladderFileName, Representatives } from './representatives.js';
