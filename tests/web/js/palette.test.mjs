// The nick colours of app.css: readable on every background a nick is drawn on, and
// far enough apart that two people never look alike by colour alone.
import test from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { NICK_COLOURS } from "../../../hubbub/web/js/format.js";

const CSS = readFileSync(new URL("../../../hubbub/web/app.css", import.meta.url), "utf8");
const AA_TEXT = 4.5; // WCAG 2 AA, normal-size text
// OKLab is built so that equal distances look about equally different; at 0.1 two
// colours are told apart at a glance (0.02 is about the least a trained eye sees).
const DISTINCT = 0.1;
const BACKGROUNDS = ["--bg", "--panel", "--panel-hover", "--mention"]; // page, panels, hovered member, mention
const PLAIN_TEXT = ["--fg", "--muted", "--faint"]; // a nick must not pass for text, nor for an away member

/** The custom properties of the first `:root { ... }` block after `from`. */
function rootBlock(from) {
  const start = CSS.indexOf(":root {", from);
  assert.ok(start >= 0, `no :root block after ${from}`);
  const body = CSS.slice(start, CSS.indexOf("}", start));
  return Object.fromEntries([...body.matchAll(/(--[\w-]+):\s*(#[0-9a-f]{6})\s*;/gi)].map((m) => [m[1], m[2].toLowerCase()]));
}

const light = rootBlock(0);
const dark = { ...light, ...rootBlock(CSS.indexOf("@media (prefers-color-scheme: dark)")) };
const THEMES = { light, dark };

function linear(hex) {
  return [1, 3, 5].map((i) => {
    const c = parseInt(hex.slice(i, i + 2), 16) / 255;
    return c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  });
}

function luminance(hex) {
  const [r, g, b] = linear(hex);
  return 0.2126 * r + 0.7152 * g + 0.0722 * b;
}

function contrast(a, b) {
  const [hi, lo] = [luminance(a), luminance(b)].sort((x, y) => y - x);
  return (hi + 0.05) / (lo + 0.05);
}

/** Björn Ottosson's OKLab, from linear sRGB. */
function oklab(hex) {
  const [r, g, b] = linear(hex);
  const l = Math.cbrt(0.4122214708 * r + 0.5363325363 * g + 0.0514459929 * b);
  const m = Math.cbrt(0.2119034982 * r + 0.6806995451 * g + 0.1073969566 * b);
  const s = Math.cbrt(0.0883024619 * r + 0.2817188376 * g + 0.6299787005 * b);
  return [
    0.2104542553 * l + 0.793617785 * m - 0.0040720468 * s,
    1.9779984951 * l - 2.428592205 * m + 0.4505937099 * s,
    0.0259040371 * l + 0.7827717662 * m - 0.808675766 * s,
  ];
}

const distance = (a, b) => Math.hypot(...oklab(a).map((v, i) => v - oklab(b)[i]));
const palette = (theme) => Array.from({ length: NICK_COLOURS }, (_, i) => theme[`--nc-${i}`]);

test("every nick colour class draws its theme's palette colour", () => {
  for (let i = 0; i < NICK_COLOURS; i++) {
    assert.match(CSS, new RegExp(`\\.nc-${i} \\{ color: var\\(--nc-${i}\\); \\}`));
    for (const [name, theme] of Object.entries(THEMES)) assert.ok(theme[`--nc-${i}`], `${name}: no --nc-${i}`);
  }
});

test("the oklab distance measures what it should", () => {
  assert.equal(distance("#000000", "#000000"), 0);
  assert.ok(Math.abs(distance("#000000", "#ffffff") - 1) < 1e-6); // black to white is 1
  assert.ok(Math.abs(contrast("#000000", "#ffffff") - 21) < 1e-9);
});

for (const [name, theme] of Object.entries(THEMES)) {
  test(`${name} theme: every nick colour reaches AA contrast on every background it meets`, () => {
    const low = [];
    for (const [i, colour] of palette(theme).entries()) {
      for (const background of BACKGROUNDS) {
        const ratio = contrast(colour, theme[background]);
        if (ratio < AA_TEXT) low.push(`--nc-${i} ${colour} on ${background} ${theme[background]}: ${ratio.toFixed(2)}`);
      }
    }
    assert.deepEqual(low, []);
  });

  test(`${name} theme: every two nick colours are told apart`, () => {
    const colours = palette(theme);
    const close = [];
    for (let i = 0; i < colours.length; i++) {
      for (let j = i + 1; j < colours.length; j++) {
        const d = distance(colours[i], colours[j]);
        if (d < DISTINCT) close.push(`--nc-${i} ${colours[i]} and --nc-${j} ${colours[j]}: ${d.toFixed(3)}`);
      }
    }
    assert.deepEqual(close, []);
  });

  test(`${name} theme: a nick colour does not pass for plain or grey text`, () => {
    const close = [];
    for (const [i, colour] of palette(theme).entries()) {
      for (const text of PLAIN_TEXT) {
        const d = distance(colour, theme[text]);
        if (d < DISTINCT) close.push(`--nc-${i} ${colour} and ${text} ${theme[text]}: ${d.toFixed(3)}`);
      }
    }
    assert.deepEqual(close, []);
  });
}
