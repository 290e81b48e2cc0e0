/** The path rules live with the engine (lib/repo/files.ts); sources use the same ones. */
export {
  validateSnapshotPath,
  isPolicyFile,
  isPolicyDir,
  isSkippedPath,
  compareCodePoints,
  API_RESOURCES_FILE,
} from '../repo/files.ts';
