/**
 * The `u` shortcuts: letter → User-Agent string, exactly as pathod 6.0.2 sends them
 * (mitmproxy `net/http/user_agents.py`). The letters match case-insensitively.
 */
export const USER_AGENTS: ReadonlyArray<{ readonly name: string; readonly letter: string; readonly ua: string }> = [
  { name: 'android', letter: 'a', ua: 'Mozilla/5.0 (Linux; U; Android 4.1.1; en-gb; Nexus 7 Build/JRO03D) AFL/01.04.02' },
  {
    name: 'blackberry',
    letter: 'l',
    ua: 'Mozilla/5.0 (BlackBerry; U; BlackBerry 9900; en) AppleWebKit/534.11+ (KHTML, like Gecko) Version/7.1.0.346 Mobile Safari/534.11+',
  },
  { name: 'bingbot', letter: 'b', ua: 'Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)' },
  {
    name: 'chrome',
    letter: 'c',
    ua: 'Mozilla/5.0 (Windows NT 6.1; WOW64) AppleWebKit/537.1 (KHTML, like Gecko) Chrome/22.0.1207.1 Safari/537.1',
  },
  { name: 'firefox', letter: 'f', ua: 'Mozilla/5.0 (Windows NT 6.1; Win64; x64; rv:14.0) Gecko/20120405 Firefox/14.0a1' },
  { name: 'googlebot', letter: 'g', ua: 'Googlebot/2.1 (+http://www.googlebot.com/bot.html)' },
  { name: 'ie9', letter: 'i', ua: 'Mozilla/5.0 (Windows; U; MSIE 9.0; WIndows NT 9.0; en-US)' },
  {
    name: 'ipad',
    letter: 'p',
    ua: 'Mozilla/5.0 (iPad; CPU OS 5_1 like Mac OS X) AppleWebKit/534.46 (KHTML, like Gecko) Version/5.1 Mobile/9B176 Safari/7534.48.3',
  },
  {
    name: 'iphone',
    letter: 'h',
    ua: 'Mozilla/5.0 (iPhone; CPU iPhone OS 4_2_1 like Mac OS X) AppleWebKit/533.17.9 (KHTML, like Gecko) Version/5.0.2 Mobile/8C148a Safari/6533.18.5',
  },
  {
    name: 'safari',
    letter: 's',
    ua: 'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_7_3) AppleWebKit/534.55.3 (KHTML, like Gecko) Version/5.1.3 Safari/534.53.10',
  },
];
