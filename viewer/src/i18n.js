// Interface language: zh-CN (default) and English. Static text carries data-i18n (text),
// data-i18n-title (title and aria-label) or data-i18n-placeholder; scripts call t(key, vars).
// The choice is kept in localStorage; ?lang=en|zh-CN in the URL overrides it.

const STRINGS = {
  "zh-CN": {
    "lang.switch": "EN",
    "auth.title": "登录",
    "auth.hint": "请使用您所在辖区的账号登录。",
    "auth.username": "用户名",
    "auth.password": "密码",
    "auth.signIn": "登录",
    "auth.signingIn": "正在登录…",
    "auth.signOut": "退出",
    "auth.failed": "登录失败：{error}",
    "auth.wrong": "用户名或密码错误。",
    "auth.throttled": "尝试次数过多，请 {s} 秒后再试。",
    "auth.expired": "会话已结束（{reason}），请重新登录。",
    "auth.level.province": "省",
    "auth.level.city": "市",
    "auth.level.county": "区县",
    "auth.level.town": "街道/乡镇",
    "auth.level.village": "社区/村",
    "lang.switchTitle": "Switch to English",
    "app.objects": "{n} 个对象",
    "app.unnamed": "（未命名城市）",
    "status.loading": "加载中…",
    "status.tilesLoading": "正在加载瓦片…（剩余 {n}）",
    "status.ready": "已加载 {n} 个瓦片",
    "status.reloading": "正在重新加载瓦片…",
    "status.noTiles": "无瓦片",
    "status.error": "错误",
    "status.tileFailed": "部分瓦片加载失败",
    "msg.noTileset": "“{name}”尚未生成三维瓦片。请用上方“导入 IFC”导入模型，或在服务器上生成瓦片。",
    "msg.cityUnavailable": "无法加载城市：{error}",
    "import.open": "导入 IFC",
    "import.title": "导入 IFC",
    "import.files": "IFC 文件",
    "import.origin": "原点",
    "import.optional": "（可选）",
    "import.hint": "用于没有地理参照的模型，或覆盖其参照：模型原点在城市坐标系中的位置（米）。所有文件一起导入，或全部不导入。",
    "import.upload": "上传",
    "import.chooseFiles": "请先选择一个或多个 .ifc 文件。",
    "import.onlyIfc": "只能导入 .ifc 文件：{files}",
    "import.tooLarge": "文件（{size}）超过服务器上限 {limit}。",
    "import.uploadingStatus": "正在上传 {percent} %",
    "import.uploadingButton": "上传中 {percent} %",
    "import.refused": "上传被拒绝（{status}）：{detail}",
    "import.notJson": "服务器对上传的回应不是 JSON。",
    "import.lost": "上传失败：与服务器的连接中断（服务器是否在运行？）。",
    "import.lostTrack": "无法跟踪导入：{error}",
    "import.queued": "排队中",
    "import.queuedButton": "导入排队中",
    "import.importing": "导入中 {percent} %",
    "import.file": "文件：{file}",
    "import.done": "完成",
    "import.failed": "导入失败",
    "import.noRefresh": "已导入，但视图未能刷新：{error}",
    "import.fillOrigin": "请填写原点（E,N[,H]，单位米，城市坐标系）后重新上传。",
    "import.tiles": "已重写瓦片：{tiles} 个瓦片，{features} 个要素，{triangles} 个三角形，用时 {seconds} 秒。",
    "import.tessellated": "CIMTwin 细分了 {n} 个 CSG 构件。",
    "import.withoutMesh": "{n} 个构件没有网格",
    "import.none": "无。",
    "search.placeholder": "搜索编号、名称或地址",
    "search.label": "搜索对象",
    "search.none": "没有找到“{q}”",
    "search.failed": "搜索失败：{error}",
    "search.byAddress": "地址",
    "api.unreachable": "无法连接服务器（{error}）",
    "api.invalidRequest": "请求参数无效：{fields}",
    "api.invalidJson": "{url} 返回的不是有效的 JSON（{error}）",
    "search.in": "{building} › {storey}",
    "job.status.queued": "排队中",
    "job.status.running": "运行中",
    "job.status.succeeded": "完成",
    "job.status.failed": "失败",
    "report.objects": "{n} 个对象",
    "report.source": "文件",
    "report.schema": "IFC 版本",
    "report.application": "创建软件",
    "report.georeference": "地理参照",
    "report.method": "参照方式",
    "report.crs": "坐标系",
    "report.origin": "使用的原点",
    "report.rotation_deg": "旋转角（度）",
    "report.scale": "比例",
    "report.notes": "说明",
    "report.unit": "长度单位",
    "report.elements_with_mesh": "有网格的构件",
    "report.triangles": "三角形",
    "report.replaced_objects": "被替换的对象",
    "report.objects_by_class": "各类对象数量",
    "report.without_mesh": "没有网格的构件",
    "report.tessellated_by_cimtwin": "由 CIMTwin 细分的构件",
    "report.failed": "失败的构件",
    "report.kernel": "几何内核",
    "report.outside_storeys": "不在楼层中的构件",
    "report.lods": "细节层次",
    "report.findings": "检查发现",
    "report.validation": "模式校验",
    "report.warnings": "警告",
    "report.seconds": "用时（秒）",
    "report.version": "版本",
    "tab.layers": "图层",
    "tab.style": "专题",
    "tab.tools": "工具",
    "sidebar.toggle": "显示或隐藏面板",
    "layer.bim": "BIM 建筑",
    "layer.gis": "GIS 建筑",
    "layer.roads": "道路",
    "layer.other": "其他要素",
    "layer.terrain": "地形",
    "layer.imagery": "影像",
    "layer.sensors": "传感器",
    "layer.incidents": "事件",
    "layer.simulation": "模拟结果",
    "layer.noData": "暂无数据",
    "layer.notTiled": "未生成三维",
    "layer.ellipsoid": "椭球面（无高程数据）",
    "layer.basemap": "自带底图",
    "layer.opacity": "{name}不透明度",
    "layer.visible": "显示{name}",
    "sensor.level.normal": "正常",
    "sensor.level.warning": "预警",
    "sensor.level.alarm": "告警",
    "sensor.level.stale": "数据过期",
    "sensor.level.unknown": "无数据",
    "sensor.time": "观测时间",
    "sensor.property": "观测量",
    "sensor.thing": "设备",
    "sensor.object": "所在对象",
    "sensor.chart": "时间序列",
    "sensor.chartHint": "滚轮缩放，拖动选择时段，双击复原。",
    "sensor.loading": "正在加载序列…",
    "sensor.failed": "无法加载序列：{error}",
    "sensor.noData": "该时段没有数值。",
    "sensor.raw": "{n} 个原始值",
    "sensor.resolution": "按 {r} 汇总：{n} 个区间（均值，阴影为最小–最大）",
    "sensor.inObject": "传感器",
    "style.colorBy": "按属性着色",
    "style.none": "不着色",
    "style.height": "高度",
    "style.use": "用途",
    "style.year": "建成年份",
    "style.custom": "其他属性…",
    "style.attribute": "属性名（如 Pset_WallCommon.IsExternal）",
    "style.apply": "应用",
    "style.legend": "图例",
    "style.noValue": "无数据",
    "style.other": "其他",
    "style.loading": "正在读取属性值…",
    "style.empty": "没有对象具有“{attr}”",
    "style.count": "{n} 个对象有值",
    "style.failed": "无法读取属性：{error}",
    "tools.measure": "量测",
    "tools.distance": "距离",
    "tools.height": "高度",
    "tools.area": "面积",
    "tools.clear": "清除",
    "tools.finish": "完成",
    "tools.hintDistance": "在场景中点击两点",
    "tools.hintHeight": "点击低点和高点",
    "tools.hintArea": "依次点击多边形顶点，双击或点“完成”结束",
    "tools.distanceResult": "距离 {d}（水平 {h}，高差 {v}）",
    "tools.heightResult": "高差 {v}",
    "tools.areaResult": "面积 {a}，周长 {p}",
    "tools.clip": "剖切面",
    "tools.clipEnable": "水平剖切",
    "tools.clipHeight": "剖切高度",
    "tools.isolation": "隔离",
    "tools.noIsolation": "未隔离，显示全部",
    "nav.home": "回到城市全景",
    "nav.compass": "指北（点击朝北）",
    "info.close": "清除选择",
    "info.loading": "正在加载 {id}…",
    "info.notFound": "未找到对象",
    "info.failed": "无法加载对象",
    "info.noId": "该要素没有 “id” 属性。",
    "info.noPsets": "没有属性集。",
    "info.path": "空间路径",
    "info.attributes": "属性",
    "info.position": "位置",
    "info.flyTo": "定位",
    "info.isolateBuilding": "隔离建筑",
    "info.isolateStorey": "隔离楼层",
    "info.showAll": "显示全部",
    "field.id": "编号",
    "field.class": "类型",
    "field.name": "名称",
    "field.parent": "上级",
    "field.source": "来源",
    "field.building": "建筑",
    "field.storey": "楼层",
    "isolation.building": "已隔离建筑：{name}",
    "isolation.storey": "已隔离楼层：{building} › {storey}",
  },
  en: {
    "lang.switch": "中文",
    "auth.title": "Sign in",
    "auth.hint": "Sign in with the account of your jurisdiction.",
    "auth.username": "User name",
    "auth.password": "Password",
    "auth.signIn": "Sign in",
    "auth.signingIn": "Signing in…",
    "auth.signOut": "Sign out",
    "auth.failed": "Sign-in failed: {error}",
    "auth.wrong": "Wrong user name or password.",
    "auth.throttled": "Too many attempts: try again in {s} s.",
    "auth.expired": "Your session ended ({reason}): please sign in again.",
    "auth.level.province": "province",
    "auth.level.city": "city",
    "auth.level.county": "county",
    "auth.level.town": "town",
    "auth.level.village": "village",
    "lang.switchTitle": "切换到中文",
    "app.objects": "{n} objects",
    "app.unnamed": "(unnamed city)",
    "status.loading": "loading…",
    "status.tilesLoading": "loading tiles… ({n} pending)",
    "status.ready": "{n} tiles loaded",
    "status.reloading": "reloading tiles…",
    "status.noTiles": "no tiles",
    "status.error": "error",
    "status.tileFailed": "some tiles failed to load",
    "msg.noTileset":
      "“{name}” has not been tiled yet: no 3D Tiles to show. Import IFC files with “Import IFC” above, or build the tileset on the server.",
    "msg.cityUnavailable": "Could not load the city: {error}",
    "import.open": "Import IFC",
    "import.title": "Import IFC",
    "import.files": "IFC files",
    "import.origin": "Origin",
    "import.optional": "(optional)",
    "import.hint":
      "For models without a georeference, or to override it: where the model's origin goes, in metres in the city's CRS. All files import together, or none does.",
    "import.upload": "Upload",
    "import.chooseFiles": "Choose one or more .ifc files first.",
    "import.onlyIfc": "Only .ifc files can be imported: {files}",
    "import.tooLarge": "The files ({size}) are over the server's limit of {limit}.",
    "import.uploadingStatus": "uploading {percent} %",
    "import.uploadingButton": "Uploading {percent} %",
    "import.refused": "Upload refused ({status}): {detail}",
    "import.notJson": "The server's answer to the upload is not JSON.",
    "import.lost": "The upload failed: the connection to the server was lost (is the server running?).",
    "import.lostTrack": "Lost track of the import: {error}",
    "import.queued": "queued",
    "import.queuedButton": "Import queued",
    "import.importing": "Importing {percent} %",
    "import.file": "file: {file}",
    "import.done": "done",
    "import.failed": "import failed",
    "import.noRefresh": "Imported, but the view did not refresh: {error}",
    "import.fillOrigin": "Fill in Origin (E,N[,H] in metres, city CRS) and upload again.",
    "import.tiles": "Tiles rewritten: {tiles} tiles, {features} features, {triangles} triangles in {seconds} s.",
    "import.tessellated": "{n} CSG elements tessellated by CIMTwin.",
    "import.withoutMesh": "{n} products without mesh",
    "import.none": "None.",
    "search.placeholder": "Search id, name or address",
    "search.label": "Search objects",
    "search.none": "Nothing found for “{q}”",
    "search.failed": "Search failed: {error}",
    "search.byAddress": "address",
    "api.unreachable": "cannot reach the server ({error})",
    "api.invalidRequest": "invalid request: {fields}",
    "api.invalidJson": "invalid JSON from {url} ({error})",
    "search.in": "{building} › {storey}",
    "job.status.queued": "queued",
    "job.status.running": "running",
    "job.status.succeeded": "done",
    "job.status.failed": "failed",
    "report.objects": "{n} objects",
    "report.source": "file",
    "report.schema": "schema",
    "report.application": "authoring application",
    "report.georeference": "georeference",
    "report.method": "method",
    "report.crs": "CRS",
    "report.origin": "origin used",
    "report.rotation_deg": "rotation (degrees)",
    "report.scale": "scale",
    "report.notes": "notes",
    "report.unit": "length unit",
    "report.elements_with_mesh": "elements with mesh",
    "report.triangles": "triangles",
    "report.replaced_objects": "replaced objects",
    "report.objects_by_class": "objects by class",
    "report.without_mesh": "products without mesh",
    "report.tessellated_by_cimtwin": "elements tessellated by CIMTwin",
    "report.failed": "failed elements",
    "report.kernel": "geometry kernel",
    "report.outside_storeys": "elements outside any storey",
    "report.lods": "levels of detail",
    "report.findings": "findings",
    "report.validation": "schema validation",
    "report.warnings": "warnings",
    "report.seconds": "seconds",
    "report.version": "version",
    "tab.layers": "Layers",
    "tab.style": "Themes",
    "tab.tools": "Tools",
    "sidebar.toggle": "Show or hide the panel",
    "layer.bim": "BIM buildings",
    "layer.gis": "GIS buildings",
    "layer.roads": "Roads",
    "layer.other": "Other features",
    "layer.terrain": "Terrain",
    "layer.imagery": "Imagery",
    "layer.sensors": "Sensors",
    "layer.incidents": "Incidents",
    "layer.simulation": "Simulation results",
    "layer.noData": "no data yet",
    "layer.notTiled": "not in 3D",
    "layer.ellipsoid": "ellipsoid (no elevation data)",
    "layer.basemap": "bundled base map",
    "layer.opacity": "{name} opacity",
    "layer.visible": "Show {name}",
    "sensor.level.normal": "normal",
    "sensor.level.warning": "warning",
    "sensor.level.alarm": "alarm",
    "sensor.level.stale": "stale",
    "sensor.level.unknown": "no data",
    "sensor.time": "observed",
    "sensor.property": "property",
    "sensor.thing": "device",
    "sensor.object": "in",
    "sensor.chart": "Time series",
    "sensor.chartHint": "Wheel to zoom, drag to pick a span, double-click to reset.",
    "sensor.loading": "loading the series…",
    "sensor.failed": "cannot load the series: {error}",
    "sensor.noData": "No values in this span.",
    "sensor.raw": "{n} raw values",
    "sensor.resolution": "{n} intervals of {r} (mean; shaded: min–max)",
    "sensor.inObject": "Sensors",
    "style.colorBy": "Colour by",
    "style.none": "No colouring",
    "style.height": "Height",
    "style.use": "Use",
    "style.year": "Year built",
    "style.custom": "Other attribute…",
    "style.attribute": "Attribute (e.g. Pset_WallCommon.IsExternal)",
    "style.apply": "Apply",
    "style.legend": "Legend",
    "style.noValue": "no value",
    "style.other": "other",
    "style.loading": "reading values…",
    "style.empty": "No object has “{attr}”",
    "style.count": "{n} objects with a value",
    "style.failed": "Could not read the values: {error}",
    "tools.measure": "Measure",
    "tools.distance": "Distance",
    "tools.height": "Height",
    "tools.area": "Area",
    "tools.clear": "Clear",
    "tools.finish": "Finish",
    "tools.hintDistance": "Click two points in the scene",
    "tools.hintHeight": "Click a low point, then a high point",
    "tools.hintArea": "Click the polygon's corners; double-click or Finish to close it",
    "tools.distanceResult": "distance {d} (horizontal {h}, height difference {v})",
    "tools.heightResult": "height difference {v}",
    "tools.areaResult": "area {a}, perimeter {p}",
    "tools.clip": "Clipping plane",
    "tools.clipEnable": "Horizontal cut",
    "tools.clipHeight": "Cut height",
    "tools.isolation": "Isolation",
    "tools.noIsolation": "Nothing isolated: everything shown",
    "nav.home": "Back to the whole city",
    "nav.compass": "Compass (click to face north)",
    "info.close": "Clear selection",
    "info.loading": "Loading {id}…",
    "info.notFound": "Object not found",
    "info.failed": "Could not load object",
    "info.noId": "This feature has no “id” property.",
    "info.noPsets": "No property sets.",
    "info.path": "Spatial path",
    "info.attributes": "Attributes",
    "info.position": "position",
    "info.flyTo": "Fly to",
    "info.isolateBuilding": "Isolate building",
    "info.isolateStorey": "Isolate storey",
    "info.showAll": "Show all",
    "field.id": "id",
    "field.class": "class",
    "field.name": "name",
    "field.parent": "parent",
    "field.source": "source",
    "field.building": "building",
    "field.storey": "storey",
    "isolation.building": "Building isolated: {name}",
    "isolation.storey": "Storey isolated: {building} › {storey}",
  },
};

// Common classes, in Chinese (shown beside the class itself).
const CLASS_NAMES_ZH = {
  IfcProject: "项目", IfcSite: "场地", IfcBuilding: "建筑", IfcBuildingStorey: "楼层",
  IfcSpace: "空间", IfcWall: "墙", IfcWallStandardCase: "墙", IfcSlab: "楼板", IfcRoof: "屋顶",
  IfcWindow: "窗", IfcDoor: "门", IfcColumn: "柱", IfcBeam: "梁", IfcStair: "楼梯",
  IfcStairFlight: "梯段", IfcRailing: "栏杆", IfcCurtainWall: "幕墙", IfcPlate: "板",
  IfcMember: "构件", IfcCovering: "覆盖层", IfcFurnishingElement: "家具",
  building: "建筑", road: "道路", parcel: "地块", landuse: "用地", water: "水体",
  green: "绿地", district: "片区", Building: "建筑", BuildingPart: "建筑部件",
};

/** Add a module's strings (`{"zh-CN": {...}, en: {...}}`) to the tables t() reads. */
export function addStrings(tables) {
  for (const [language, strings] of Object.entries(tables)) Object.assign(STRINGS[language], strings);
}

export const LANGUAGES = ["zh-CN", "en"];
const listeners = [];
let current = initialLanguage();

function initialLanguage() {
  const asked = new URLSearchParams(location.search).get("lang");
  if (LANGUAGES.includes(asked)) return asked;
  try {
    const stored = localStorage.getItem("cimtwin.lang");
    if (LANGUAGES.includes(stored)) return stored;
  } catch {
    /* storage disabled: default */
  }
  return "zh-CN";
}

export function getLanguage() {
  return current;
}

/** The Accept-Language header of the current language: the server answers in it. */
export function acceptLanguage(language = current) {
  return language === "zh-CN" ? "zh-CN,zh;q=0.9,en;q=0.5" : "en,zh-CN;q=0.1";
}

/** The text of `key` in the current language, with {name} placeholders filled from `vars`. */
export function t(key, vars) {
  const text = STRINGS[current][key] ?? STRINGS.en[key] ?? key;
  if (!vars) return text;
  return text.replace(/\{(\w+)\}/g, (m, name) => (name in vars ? String(vars[name]) : m));
}

/** Take the class names of the code list (data/codes/classes.json: {class, zh, en}). */
export function setClassNames(items) {
  for (const item of items) if (item.class && item.zh) CLASS_NAMES_ZH[item.class] = item.zh;
}

/** "墙 IfcWall" in Chinese, "IfcWall" in English. */
export function className(cls) {
  if (!cls) return "";
  const zh = current === "zh-CN" ? CLASS_NAMES_ZH[cls] : null;
  return zh && zh !== cls ? `${zh} ${cls}` : cls;
}

/** A number with the locale's grouping. */
export function formatNumber(value, digits = 0) {
  return Number(value).toLocaleString(current, { maximumFractionDigits: digits, minimumFractionDigits: digits });
}

/** Fill every data-i18n* element under `root`. */
export function translate(root = document) {
  document.documentElement.lang = current;
  for (const node of root.querySelectorAll("[data-i18n]")) node.textContent = t(node.dataset.i18n);
  for (const node of root.querySelectorAll("[data-i18n-title]")) {
    node.title = t(node.dataset.i18nTitle);
    node.setAttribute("aria-label", node.title);
  }
  for (const node of root.querySelectorAll("[data-i18n-placeholder]")) {
    node.placeholder = t(node.dataset.i18nPlaceholder);
  }
}

export function setLanguage(language) {
  if (!LANGUAGES.includes(language)) throw new Error(`unknown language ${language}`);
  current = language;
  try {
    localStorage.setItem("cimtwin.lang", language);
  } catch {
    /* storage disabled: the choice lasts this page */
  }
  translate();
  for (const listener of listeners) listener(language);
}

export function onLanguageChange(listener) {
  listeners.push(listener);
}
