/** Escapes text for XML and HTML content and attribute values (JUnit and HTML writers). */
export function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
