/** JSON inside a <script> element: `<` escaped so no `</script>` in the data can end it early. */
export function scriptJson(id: string, value: unknown): string {
  return `<script type="application/json" id="${id}">${JSON.stringify(value).replace(/</g, '\\u003c')}</script>`;
}
