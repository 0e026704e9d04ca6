// asl-validator ships no declarations; this is the part of its API the tests use.
declare module "asl-validator" {
  interface AslValidationResult {
    isValid: boolean;
    errors: { message: string; path?: string }[];
  }
  const validate: (definition: unknown, options?: { checkPaths?: boolean; checkArn?: boolean }) => AslValidationResult;
  export default validate;
}
