/**
 * OS A/B updates through the board's bootloader. For the agent's main loop:
 *   const backend = backendForBoard(spec, { bootMount: '/boot/firmware' });
 *   const os = new OsUpdater({ backend, slotDevice, openImage: (t) => httpImageSource(t, ca), … });
 *   await os.onStart();                       // every start: resumes or concludes an update
 *   await os.request(target);                 // a release carries an OS image for this board
 *   setInterval(() => os.checkTrial(), 5000); // while os.inTrial
 */
export { OS_SLOTS, otherSlot, BootBackendError, type BootSlotBackend, type BootStatus, type OsSlot } from './boot-slot-backend';
export { backendForBoard, slotPartitionNumber, SLOT_FILE_ON_BOOT, type BoardPaths } from './backend-for-board';
export { decide, IDLE_JOURNAL, type OsImageTarget, type OsUpdateAction, type OsUpdateJournal, type TrialChecks } from './os-update-plan';
export { OsUpdater, httpImageSource, type OsUpdaterDeps, type OsUpdateReport } from './os-updater';
export { writeSlot, SlotWriteError, type OpenImageSource } from './slot-writer';
