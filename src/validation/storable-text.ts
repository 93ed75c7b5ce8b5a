import { registerDecorator, type ValidationArguments, type ValidationOptions } from 'class-validator';

/** `String.prototype.isWellFormed` (Node 20, ES2024); the project's `lib` is ES2022, so it is typed here. */
type WellFormedCheckable = string & { isWellFormed(): boolean };

/**
 * What a listing shows as nothing: whitespace, format characters (zero-width space, joiners, BOM),
 * controls, combining marks with no letter to sit on, and the letters drawn blank (the Hangul
 * fillers U+115F, U+1160, U+3164, U+FFA0, and the braille blank U+2800).
 */
const BLANK = /^[\p{White_Space}\p{Cf}\p{Cc}\p{M}\u115F\u1160\u3164\uFFA0\u2800]*$/u;

/**
 * What is wrong with `value` as text PostgreSQL can store and give back unchanged, or undefined
 * when it is fine. PostgreSQL's `text` cannot hold NUL at all (the statement fails); a lone
 * UTF-16 surrogate has no UTF-8 form, so it would be stored as U+FFFD and read back as something
 * the client never sent; text of only whitespace or invisible characters (a name, today the only
 * text field) is blank in every listing.
 */
function storableTextProblem(property: string, value: unknown): string | undefined {
  // Not a string: the GraphQL type and the other rules deal with it; empty: IsNotEmpty says so.
  if (typeof value !== 'string' || value === '') return undefined;
  if (value.includes('\u0000')) return `${property} must not contain the NUL character (U+0000); remove it`;
  if (!(value as WellFormedCheckable).isWellFormed()) {
    return `${property} must be valid Unicode (no lone surrogate); send each character as a whole UTF-16 pair`;
  }
  if (BLANK.test(value)) return `${property} must not be only whitespace or invisible characters; give at least one visible character`;
  return undefined;
}

/**
 * Refuses strings PostgreSQL cannot store as sent, NUL (U+0000) and lone UTF-16 surrogates, and
 * text that is only whitespace. Put it on every string field of an input, so such
 * input is BAD_USER_INPUT before any node is touched. The message names the property and says
 * what to fix.
 */
export function IsStorableText(options?: ValidationOptions): PropertyDecorator {
  return (object: object, propertyName: string | symbol) => {
    registerDecorator({
      name: 'isStorableText',
      target: object.constructor,
      propertyName: String(propertyName),
      options,
      validator: {
        validate: (value: unknown, args: ValidationArguments) => storableTextProblem(args.property, value) === undefined,
        defaultMessage: (args: ValidationArguments) =>
          storableTextProblem(args.property, args.value) ?? `${args.property} is not storable text`,
      },
    });
  };
}
