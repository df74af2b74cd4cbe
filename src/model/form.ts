export type FormFieldType = 'text' | 'string' | 'bool' | 'int' | 'number';

export interface FormField {
  id: string;
  prompt: string;
  type: FormFieldType;
  /** Default value shown in the form and used when a trigger gives none. */
  value?: string;
  /** Choices for a select-like field. */
  options?: string[];
  required?: boolean;
  /** Never shown: API answers, events and logs say `(secret)` instead of the value, and there is no default. */
  secret?: boolean;
}

/** The form a data trigger or data node asks a person to fill in. */
export interface FormConfig {
  title: string;
  fields: FormField[];
}
