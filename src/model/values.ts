/** Values carried by a trigger or a data node answer: form field id -> value. */
export type Values = Record<string, string>;
