/** The project's root folder, so that defaults (data/, models/, runs/) do not depend on the working directory. */
import * as path from "node:path";

export const PROJECT_ROOT = path.resolve(__dirname, "..", "..");
