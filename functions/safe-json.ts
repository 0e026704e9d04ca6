/**
 * Safe JSON parsing for untrusted text: nesting is measured on the text before JSON.parse runs,
 * so a body nested thousands deep is answered as too deep instead of overflowing the stack of
 * a recursive reviver or walker ("Maximum call stack size exceeded").
 */

/** How deep `[`/`{` nest in `text`, counted outside strings; stops counting once past `limit`. */
export function jsonNestingDepth(text: string, limit = Number.POSITIVE_INFINITY): number {
  let depth = 0;
  let max = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
      continue;
    }
    if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) {
      depth++;
      if (depth > max) max = depth;
      if (max > limit) return max;
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
  return max;
}
