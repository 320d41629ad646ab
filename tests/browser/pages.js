// Open pages of the built site in headless Chromium, as a reader would, and report what they show.
//
//   node tests/browser/pages.js BASE_URL page1.html page2.html ...   (one JSON object on stdout)
//
// For each page, at a desktop width (1280 px) and at a phone's (390 px): script errors, failed
// requests to the site itself, images (loaded? alt text?), maths (rendered? raw delimiters left?)
// and whether the page is wider than the screen. Run by tests/test_book.py; needs playwright-core
// (npm) and Chromium (COURSE_CHROMIUM, default /usr/bin/chromium).
const { chromium } = require('playwright-core');

async function inspect(page, url, width) {
  const errors = [];
  const failed = [];
  const onError = e => errors.push(String(e.message || e));
  const onConsole = m => { if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) errors.push(m.text()); };
  const onFailed = r => failed.push(r.url());
  page.on('pageerror', onError);
  page.on('console', onConsole);
  page.on('requestfailed', onFailed);
  await page.setViewportSize({ width, height: 900 });
  await page.goto(url, { waitUntil: 'load' });
  await page.waitForTimeout(1500); // MathJax typesets after load
  const seen = await page.evaluate(() => {
    const main = document.querySelector('main') || document.body;
    const images = [...main.querySelectorAll('img')].map(i => ({
      src: i.getAttribute('src'), loaded: i.complete && i.naturalWidth > 0, alt: (i.getAttribute('alt') || '').trim(),
    }));
    const text = main.innerText;
    return {
      images,
      mathSource: main.querySelectorAll('.math').length,
      mathRendered: main.querySelectorAll('mjx-container').length,
      rawDelimiters: (text.match(/\\\(|\\\[|\\begin\{/g) || []).length,
      scrollWidth: document.documentElement.scrollWidth,
      clientWidth: document.documentElement.clientWidth,
    };
  });
  page.off('pageerror', onError);
  page.off('console', onConsole);
  page.off('requestfailed', onFailed);
  return { ...seen, errors, failed };
}

async function search(page, base, term) {
  await page.setViewportSize({ width: 1280, height: 900 });
  await page.goto(`${base}/search.html?q=${encodeURIComponent(term)}`, { waitUntil: 'load' });
  await page.waitForFunction(() => document.querySelectorAll('#search-results li').length > 0 ||
    /did not match|no results/i.test((document.querySelector('#search-results') || {}).innerText || ''),
  null, { timeout: 20000 }).catch(() => {});
  return page.evaluate(() => [...document.querySelectorAll('#search-results li a')].map(a => a.getAttribute('href')));
}

(async () => {
  const [base, ...pages] = process.argv.slice(2);
  const browser = await chromium.launch({
    executablePath: process.env.COURSE_CHROMIUM || '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
  const page = await browser.newPage();
  const report = { pages: {}, search: {} };
  for (const name of pages) {
    report.pages[name] = {
      desktop: await inspect(page, `${base}/${name}`, 1280),
      phone: await inspect(page, `${base}/${name}`, 390),
    };
  }
  for (const term of (process.env.COURSE_SEARCH_TERMS || '').split(',').filter(Boolean)) {
    report.search[term] = await search(page, base, term);
  }
  await browser.close();
  console.log(JSON.stringify(report));
})().catch(e => { console.error(`error: ${e.message}`); process.exit(2); });
