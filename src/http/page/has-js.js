/// <reference lib="dom" />
// Before the body renders: the stylesheet shows the live board only to a page that runs scripts.
document.documentElement.className = 'js';
