import { LADDER_STYLE } from './ladder.js';

/** The page's style sheet (inline: the page fetches nothing). */
export const PAGE_STYLE = `
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:0;color:#212121;background:#fff}
#page{max-width:1010px;margin:0 auto;padding:10px 14px 40px}
h1{font-size:17px;margin:0 0 2px;font-weight:600}h2{font-size:18px;margin:28px 0 8px;border-bottom:1px solid #ddd;padding-bottom:4px}
h3{font-size:15px;margin:14px 0 6px}.sub{color:#616161;margin:2px 0}code,pre{font:12px/1.4 ui-monospace,Menlo,Consolas,monospace}
pre{background:#f5f5f5;padding:8px;overflow-x:auto;white-space:pre-wrap;margin:6px 0}
table{border-collapse:collapse;margin:6px 0}td,th{border:1px solid #e0e0e0;padding:3px 8px;text-align:left;vertical-align:top}
th{background:#fafafa;font-weight:600}.num{text-align:right}
.banner{border-radius:6px;padding:10px 14px;margin:8px 0 10px;color:#fff;background:#c62828}
.banner.clean{background:#2e7d32}.banner .head{font-size:19px;font-weight:700;line-height:1.3}.banner .nums{margin-top:4px;font-size:13.5px;opacity:.95}
.finding{border-left:4px solid #c62828;padding:2px 12px 6px;margin:12px 0;background:#fff8f8}
.finding.warning{border-color:#ef6c00;background:#fffaf3}.finding.explained{border-color:#9e9e9e;background:#fafafa}
.ok{color:#2e7d32;font-weight:600}
.badge{display:inline-block;padding:1px 7px;border-radius:9px;color:#fff;font-size:12px;margin-right:4px}
.ladder-wrap{overflow-x:auto;border:1px solid #eee;margin:6px 0}
svg{display:block;max-width:none}
table.clusters td{vertical-align:top}table.clusters .sig{font:12px ui-monospace,Menlo,Consolas,monospace;max-width:420px}
.members{font-size:12px;color:#424242;max-width:420px}
#tl-box{position:relative}#tl{display:block;cursor:crosshair;border:1px solid #e0e0e0}#tl-info{min-height:1.4em;font-size:13px;margin:4px 0}
.legend span{margin-right:14px;font-size:13px}.legend i{display:inline-block;width:12px;height:12px;margin-right:4px;vertical-align:-1px}
#jobs-q{font:inherit;padding:3px 6px;width:320px}button{font:inherit}
svg .plot{fill:#fff;stroke:#9e9e9e}svg .grid{stroke:#eeeeee}svg .tick{font-size:10px;fill:#616161}svg .axis{font-size:11px;fill:#424242}
svg .seg{stroke-width:2}svg .seg.retx{stroke-width:3}svg .ackline{fill:none;stroke:#9e9e9e;stroke-width:1.2}
svg .winline{fill:none;stroke:#f9a825;stroke-width:1.2}
svg .mark{font-size:11px;font-weight:700;fill:#6a1b9a}svg .mark-R{fill:#b71c1c}svg .mark.retx{fill:#d32f2f}
svg .retx-dot{fill:#d32f2f}svg .flag{fill:#d81b60}
${LADDER_STYLE}
`;
