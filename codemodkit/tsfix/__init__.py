"""`codemod tsfix`: fix a TypeScript project's compiler errors in one batch."""
